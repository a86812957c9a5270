public enum BlindmatchServerPlaceholder {}
