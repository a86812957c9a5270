// The JSON Schema of native linkage schemas, embedded so the tool works without the repository beside it.
// It must stay byte-identical to Protocol/schema/linkage-schema.schema.json (a test checks).

extension LinkageSchema {
    /// The text of `Protocol/schema/linkage-schema.schema.json`.
    public static let nativeJSONSchemaText = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://blindmatch.invalid/protocol/linkage-schema-1.schema.json",
  "title": "Blindmatch native linkage schema, version 1 (SPEC §2)",
  "description": "Shared by every party of a project: the CSV columns and their normalisation, the ordered match keys, and the Bloom-filter settings. Its SHA-256 over the canonical form (SPEC §2.1) is the schema fingerprint carried in every token file.",
  "type": "object",
  "required": ["blindmatchSchema", "name", "recordKey", "fields"],
  "additionalProperties": false,
  "properties": {
    "blindmatchSchema": {"const": 1, "description": "Version of this schema format."},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": {"type": "string", "maxLength": 4000},
    "recordKey": {
      "type": "string",
      "minLength": 1,
      "description": "The column holding the agency's own record key. It goes only into the local map, never into the token file."
    },
    "fields": {
      "type": "array",
      "minItems": 1,
      "maxItems": 256,
      "description": "Every CSV column, in the order of the CSV header.",
      "items": {"$ref": "#/$defs/field"}
    },
    "matchKeys": {
      "type": "array",
      "maxItems": 32,
      "description": "Exact match keys, in cascade order (earliest wins).",
      "items": {"$ref": "#/$defs/matchKey"}
    },
    "bloom": {"$ref": "#/$defs/bloom"}
  },
  "$defs": {
    "identifier": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"},
    "field": {
      "type": "object",
      "required": ["name", "kind"],
      "additionalProperties": false,
      "properties": {
        "name": {"$ref": "#/$defs/identifier"},
        "kind": {"enum": ["name", "text", "date", "sex", "postcode", "nino", "exact", "ignore"]},
        "dateOrder": {"enum": ["dayFirst", "monthFirst"], "description": "For kind date: how to read ambiguous numeric dates such as 03/04/1980."},
        "description": {"type": "string"}
      }
    },
    "matchKey": {
      "type": "object",
      "required": ["name", "parts"],
      "additionalProperties": false,
      "properties": {
        "name": {"$ref": "#/$defs/identifier"},
        "parts": {"type": "array", "minItems": 1, "maxItems": 8, "items": {"$ref": "#/$defs/part"}},
        "description": {"type": "string"}
      }
    },
    "part": {
      "type": "object",
      "required": ["field"],
      "additionalProperties": false,
      "properties": {
        "field": {"$ref": "#/$defs/identifier"},
        "transform": {"enum": ["value", "initial", "soundex", "year"]}
      }
    },
    "bloom": {
      "type": "object",
      "required": ["bits", "fields"],
      "additionalProperties": false,
      "properties": {
        "bits": {"enum": [256, 512, 1024, 2048, 4096], "description": "Filter length before hardening."},
        "fields": {"type": "array", "minItems": 1, "maxItems": 64, "items": {"$ref": "#/$defs/bloomField"}},
        "hardening": {"$ref": "#/$defs/hardening"}
      }
    },
    "bloomField": {
      "type": "object",
      "required": ["field", "tokens"],
      "additionalProperties": false,
      "properties": {
        "field": {"$ref": "#/$defs/identifier"},
        "tokens": {
          "oneOf": [
            {
              "type": "object",
              "required": ["type", "n"],
              "additionalProperties": false,
              "properties": {
                "type": {"const": "ngram"},
                "n": {"type": "integer", "minimum": 1, "maximum": 8},
                "positional": {"type": "boolean"}
              }
            },
            {
              "type": "object",
              "required": ["type"],
              "additionalProperties": false,
              "properties": {"type": {"const": "exact"}}
            }
          ]
        },
        "bitsPerToken": {"type": "integer", "minimum": 1, "maximum": 256},
        "bitsPerFeature": {"type": "integer", "minimum": 1, "maximum": 4096}
      },
      "oneOf": [{"required": ["bitsPerToken"]}, {"required": ["bitsPerFeature"]}]
    },
    "hardening": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "xorFolds": {"type": "integer", "minimum": 0, "maximum": 3},
        "salt": {
          "type": "object",
          "required": ["field"],
          "additionalProperties": false,
          "properties": {
            "field": {"$ref": "#/$defs/identifier"},
            "transform": {"enum": ["value", "initial", "soundex", "year"]}
          }
        },
        "balance": {"type": "boolean"},
        "diffusion": {
          "type": "object",
          "required": ["taps"],
          "additionalProperties": false,
          "properties": {"taps": {"type": "integer", "minimum": 2, "maximum": 32}}
        },
        "randomisedResponse": {
          "type": "object",
          "required": ["flipProbability"],
          "additionalProperties": false,
          "properties": {"flipProbability": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.25}}
        }
      }
    }
  }
}
"""#
}
