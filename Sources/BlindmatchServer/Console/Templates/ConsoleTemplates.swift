/// The console's page templates (hummingbird-project/swift-mustache), as Swift string literals so that the binary
/// carries them: no resource bundle to ship, no build step. `{{x}}` is HTML-escaped; `{{{x}}}` is used only for
/// markup the server wrote itself (the page body inside the layout, and charts built from numbers).
enum ConsoleTemplates {
    static var all: [String: String] {
        [
            "layout": ConsoleLayout.template, "signIn": signIn, "error": error, "projects": projects,
            "project": project, "uploads": uploads, "runs": runs, "run": run, "report": report, "audit": audit,
            "tokens": tokens, "issued": issued, "confirm": confirm, "done": done, "service": service,
        ]
    }
}
