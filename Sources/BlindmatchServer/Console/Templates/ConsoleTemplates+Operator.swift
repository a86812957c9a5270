extension ConsoleTemplates {
    static let tokens = #"""
        <h1>Tokens</h1>
        <table>
        <caption>Valid tokens, newest first (only their public ids; the service keeps no token)</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Role</th><th scope="col">Name</th>
        <th scope="col">Project</th><th scope="col">Issued</th><th scope="col">Expires</th>
        <th scope="col"><span class="noprint">Action</span></th></tr></thead>
        <tbody>
        {{#items}}<tr><td><code>{{id}}</code></td><td>{{role}}</td><td>{{name}}</td><td>{{project}}</td>
        <td>{{issuedAt}}</td><td>{{expiresAt}}</td>
        <td><a href="/console/tokens/{{id}}/revoke">Revoke {{id}}…</a></td></tr>{{/items}}
        </tbody>
        </table>
        {{#next}}<p class="pager"><a href="/console/tokens?cursor={{next}}">Older tokens</a></p>{{/next}}
        <h2>Issue a token</h2>
        <form class="stack" method="post" action="/console/tokens">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="role">Role</label>
        <select id="role" name="role">
        <option value="auditor">auditor</option><option value="operator">operator</option>
        <option value="party">party</option>
        </select>
        <label for="name">Name (auditor or operator)</label>
        <input type="text" id="name" name="name" maxlength="100" aria-describedby="name-hint">
        <p class="hint" id="name-hint">Letters, digits, dot, dash and underscore.</p>
        <label for="project">Project id (party)</label>
        <input type="text" id="project" name="project" maxlength="40">
        <label for="party">Party name (party)</label>
        <input type="text" id="party" name="party" maxlength="100">
        <label for="expiresAt">Expires (optional, YYYY-MM-DDThh:mm:ssZ)</label>
        <input type="text" id="expiresAt" name="expiresAt" maxlength="20">
        <button type="submit">Issue</button>
        </form>
        """#

    static let issued = #"""
        <h1>Token issued</h1>
        <p class="warning" role="alert">This is the only time the token is shown. Copy it now into a file of mode 0600
        and hand it over out of band; the service keeps only its hash.</p>
        <p><label for="secret">Token {{id}} ({{role}} {{name}})</label></p>
        <p><input class="secret mono" type="text" id="secret" readonly value="{{secret}}"></p>
        <p><a href="/console/tokens">Back to the tokens</a></p>
        """#

    static let service = #"""
        <h1>Health and metrics</h1>
        <div class="verdict {{#healthy}}good{{/healthy}}{{^healthy}}bad{{/healthy}}" role="status">
        <p><strong>{{#healthy}}Healthy{{/healthy}}{{^healthy}}Unavailable{{/healthy}}</strong>: the store
        {{#storeAnswers}}answers{{/storeAnswers}}{{^storeAnswers}}does not answer{{/storeAnswers}} and the data
        directory is {{#writable}}writable{{/writable}}{{^writable}}not writable{{/writable}}.</p>
        </div>
        <table>
        <caption>Metrics (as <code>GET /metrics</code> reports them)</caption>
        <thead><tr><th scope="col">Metric</th><th scope="col" class="num">Value</th></tr></thead>
        <tbody>{{#metrics}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/metrics}}</tbody>
        </table>
        """#
}
