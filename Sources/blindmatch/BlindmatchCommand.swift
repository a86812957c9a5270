import ArgumentParser

@main
struct BlindmatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blindmatch")
}
