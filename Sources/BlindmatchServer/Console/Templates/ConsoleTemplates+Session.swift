extension ConsoleTemplates {
    /// The sign-in form: the bearer token goes in the body of a POST, never in a URL.
    static let signIn = #"""
        <h1>Sign in</h1>
        {{#message}}<p class="warning" role="alert">{{message}}</p>{{/message}}
        <p>Paste the bearer token you were given (operator, auditor or party), or a one-time sign-in ticket. It is sent
        once, in this form; the console then keeps a session and never shows the token again.</p>
        <form class="stack" method="post" action="/console/sign-in" autocomplete="off">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token">Bearer token</label>
        <input type="password" id="token" name="token" required spellcheck="false" autocapitalize="off"
          aria-describedby="token-hint">
        <p class="hint" id="token-hint">Starts with <code>bm_</code>. Sessions end after {{idleMinutes}} minutes
        without use, when you sign out, or when the token is revoked.</p>
        <button type="submit">Sign in</button>
        </form>
        """#

    /// A refusal or failure, in words.
    static let error = #"""
        <h1>{{heading}}</h1>
        <p class="warning" role="alert">{{message}}</p>
        <p>HTTP {{status}}{{#code}} · <code>{{code}}</code>{{/code}}</p>
        <p><a href="/console/projects">Back to the projects</a></p>
        """#
}
