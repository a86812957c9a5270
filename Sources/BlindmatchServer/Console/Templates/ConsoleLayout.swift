/// The frame of every console page: skip link, header with navigation and sign-out, the page's body, and the one
/// stylesheet (inline: the console fetches nothing, from the service or elsewhere, but the page itself).
///
/// Colours meet WCAG AA contrast on white (text ≥ 4.5:1, chart marks ≥ 3:1); focus is always visible; the print
/// rules drop navigation and forms so that run, report and audit pages print as records.
enum ConsoleLayout {
    static let template = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{title}} — Blindmatch console</title>
        <style>
        :root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4a4a; --line: #8a8a8a; --accent: #0b4f9c;
          --bad: #9b1c1c; --good: #1b5e20; --paper: #ffffff; --tint: #f1f3f6; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
          color: var(--ink); background: var(--paper); }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus {
          outline: 3px solid #c75b00; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
        .skip:focus { left: .5rem; }
        header.bar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between;
          padding: .6rem 1.5rem; background: #12263f; color: #fff; }
        header.bar a { color: #fff; }
        .brand { font-weight: 700; margin: 0; }
        nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 1.2rem; margin: 0; padding: 0; }
        nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
        .signout { display: flex; gap: .6rem; align-items: center; margin: 0; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
        h1 { font-size: 1.6rem; margin: .8rem 0 .4rem; }
        h2 { font-size: 1.25rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); }
        .crumbs { color: var(--muted); margin: 0; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
        caption { text-align: left; font-weight: 600; padding: .3rem 0; }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #c8c8c8; vertical-align: top; }
        th { background: var(--tint); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; word-break: break-all; }
        dl.facts { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .3rem 1.2rem; }
        dl.facts dt { font-weight: 600; color: var(--muted); }
        dl.facts dd { margin: 0; }
        .verdict { border: 3px solid; padding: .8rem 1rem; margin: 1rem 0; font-size: 1.1rem; }
        .verdict.good { border-color: var(--good); background: #eef7ee; }
        .verdict.bad { border-color: var(--bad); background: #fbeeee; }
        .notice { border-left: 6px solid var(--accent); background: var(--tint); padding: .6rem 1rem; }
        .warning { border-left: 6px solid var(--bad); background: #fbeeee; padding: .6rem 1rem; }
        .secret { font-size: 1.05rem; padding: .6rem; background: #fffbe6; border: 2px dashed #8a6d00; }
        form.stack { display: grid; gap: .7rem; max-width: 36rem; }
        form.stack label { font-weight: 600; }
        input, select, textarea, button { font: inherit; }
        input[type=text], input[type=password], select, textarea { width: 100%; padding: .4rem;
          border: 1px solid #5a5a5a; border-radius: 3px; }
        button { padding: .45rem 1rem; border: 2px solid var(--accent); background: var(--accent); color: #fff;
          border-radius: 3px; cursor: pointer; }
        button.danger { background: var(--bad); border-color: var(--bad); }
        header.bar button { background: transparent; border-color: #fff; }
        .hint { color: var(--muted); font-size: .92rem; margin: 0; }
        .charts { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); gap: 1.2rem;
          align-items: start; }
        .scroll { max-height: 26rem; overflow: auto; }
        figure { margin: 0; }
        figcaption { color: var(--muted); font-size: .92rem; }
        svg text { font: 12px system-ui, sans-serif; fill: #1a1a1a; }
        progress { width: 100%; height: 1.4rem; }
        .pager { display: flex; gap: 1rem; }
        @media (max-width: 50rem) { .charts { grid-template-columns: 1fr; } }
        @media print {
          header.bar, .skip, form, .pager, .noprint { display: none !important; }
          main { max-width: none; padding: 0; }
          body { font-size: 11pt; }
          a { color: inherit; text-decoration: none; }
          .scroll { max-height: none; overflow: visible; }
          .charts { grid-template-columns: 1fr; }
          tr, figure { break-inside: avoid; }
        }
        </style>
        </head>
        <body>
        <a class="skip" href="#main">Skip to the page's content</a>
        <header class="bar">
        <p class="brand">Blindmatch console</p>
        {{#signedIn}}
        <nav aria-label="Console">
        <ul>
        {{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>
        {{/nav}}
        </ul>
        </nav>
        <form class="signout" method="post" action="/console/sign-out">
        <span>Signed in as <strong>{{who}}</strong></span>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Sign out</button>
        </form>
        {{/signedIn}}
        </header>
        <main id="main">
        {{{body}}}
        </main>
        </body>
        </html>
        """#
}
