extension ConsoleTemplates {
    static let projects = #"""
        <h1>Projects</h1>
        {{^items}}<p>No projects yet.</p>{{/items}}
        {{#hasItems}}
        <table>
        <caption>Projects, newest first</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Legal basis</th>
        <th scope="col">Created</th></tr></thead>
        <tbody>
        {{#items}}
        <tr><td><a href="/console/projects/{{id}}">{{name}}</a><br><code>{{id}}</code></td><td>{{status}}</td>
        <td>{{legalBasis}}</td><td>{{createdAt}}</td></tr>
        {{/items}}
        </tbody>
        </table>
        {{/hasItems}}
        {{#next}}<p class="pager"><a href="/console/projects?cursor={{next}}">Older projects</a></p>{{/next}}
        """#

    static let project = #"""
        <p class="crumbs"><a href="/console/projects">Projects</a> ›</p>
        <h1>{{name}}</h1>
        <ul class="noprint">
        <li><a href="/console/projects/{{id}}/uploads">Uploads</a></li>
        <li><a href="/console/projects/{{id}}/runs">Runs</a></li>
        {{#canClose}}<li><a href="/console/projects/{{id}}/close">Close this project…</a></li>{{/canClose}}
        </ul>
        <dl class="facts">
        <dt>Id</dt><dd><code>{{id}}</code></dd>
        <dt>Status</dt><dd>{{status}}{{#closedAt}} since {{closedAt}} ({{closeReason}}){{/closedAt}}</dd>
        <dt>Purpose</dt><dd>{{purpose}}</dd>
        <dt>Legal basis</dt><dd>{{legalBasis}}</dd>
        <dt>Created</dt><dd>{{createdAt}}</dd>
        <dt>Schema fingerprint</dt><dd><code>{{schemaFingerprint}}</code></dd>
        <dt>Linkage key id</dt><dd><code>{{keyId}}</code></dd>
        </dl>
        <h2>Parties</h2>
        <table>
        <caption>The two parties and their registered signing keys</caption>
        <thead><tr><th scope="col">Party</th><th scope="col">Role</th><th scope="col">Key fingerprint (Ed25519)</th>
        <th scope="col">Registered</th></tr></thead>
        <tbody>
        {{#parties}}<tr><td>{{name}}</td><td>{{role}}</td><td><code>{{fingerprint}}</code></td>
        <td>{{registeredAt}}{{#rotateHref}}<br><a class="noprint" href="{{rotateHref}}">Replace {{name}}'s key…</a>{{/rotateHref}}</td></tr>{{/parties}}
        </tbody>
        </table>
        {{#sections}}
        <h2>{{title}}</h2>
        {{#hasRows}}<dl class="facts">{{#rows}}<dt>{{name}}</dt><dd><code>{{value}}</code></dd>{{/rows}}</dl>{{/hasRows}}
        {{^rows}}<p>{{empty}}</p>{{/rows}}
        {{/sections}}
        <h2>Disclosure policy</h2>
        <p>Scores are rounded to {{scoreDecimals}} decimals. Each party reads only what its grant names.</p>
        <table>
        <caption>What each party role may read of a run's results</caption>
        <thead><tr><th scope="col">Role</th><th scope="col">Fields</th><th scope="col">Statuses</th></tr></thead>
        <tbody>
        {{#grants}}<tr><td>{{role}}</td><td>{{fields}}</td><td>{{statuses}}</td></tr>{{/grants}}
        {{^grants}}<tr><td colspan="3">No party is granted results.</td></tr>{{/grants}}
        </tbody>
        </table>
        """#

    static let uploads = #"""
        <p class="crumbs"><a href="/console/projects">Projects</a> › <a href="/console/projects/{{id}}">{{name}}</a> ›</p>
        <h1>Uploads</h1>
        {{#isParty}}<p class="notice">A party sees only its own uploads.</p>{{/isParty}}
        <table>
        <caption>Accepted token files, newest first</caption>
        <thead><tr><th scope="col">Upload</th><th scope="col">Party</th><th scope="col" class="num">Records</th>
        <th scope="col" class="num">Bytes</th><th scope="col">SHA-256</th><th scope="col">Signer</th>
        <th scope="col">Received</th><th scope="col">Current</th></tr></thead>
        <tbody>
        {{#accepted}}<tr><td><code>{{id}}</code></td><td>{{party}}</td><td class="num">{{records}}</td>
        <td class="num">{{bytes}}</td><td><code>{{sha}}</code></td><td><code>{{signer}}</code></td>
        <td>{{receivedAt}}</td><td>{{#current}}yes{{/current}}{{^current}}no{{/current}}</td></tr>{{/accepted}}
        {{^accepted}}<tr><td colspan="8">No upload accepted yet.</td></tr>{{/accepted}}
        </tbody>
        </table>
        {{#showRefused}}
        <h2>Refused uploads</h2>
        <p class="hint">From the audit log (<code>upload.refused</code>): the service keeps no file and no row of a
        refused upload, only the rule that refused it.</p>
        <table>
        <caption>Refused token files, newest first</caption>
        <thead><tr><th scope="col" class="num">Audit seq</th><th scope="col">Time</th><th scope="col">By</th>
        <th scope="col">Rule that refused it</th></tr></thead>
        <tbody>
        {{#refused}}<tr><td class="num">{{seq}}</td><td>{{time}}</td><td>{{actor}}</td><td>{{reason}}</td></tr>{{/refused}}
        {{^refused}}<tr><td colspan="4">No upload was refused.</td></tr>{{/refused}}
        </tbody>
        </table>
        {{/showRefused}}
        """#

    static let confirm = #"""
        <p class="crumbs"><a href="{{backHref}}">{{backLabel}}</a> ›</p>
        <h1>{{heading}}</h1>
        <p class="warning">{{warning}}</p>
        <form class="stack" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#reason}}
        <label for="reason">Reason (recorded in the audit log)</label>
        <input type="text" id="reason" name="reason" required maxlength="200">
        {{/reason}}
        {{#pem}}
        <p>Current key fingerprint: <code>{{current}}</code></p>
        <label for="pem">The party's new Ed25519 public key (PEM, from <code>blindmatch keygen --signing</code>)</label>
        <textarea id="pem" name="pem" rows="4" required spellcheck="false"></textarea>
        {{/pem}}
        <div><input type="checkbox" id="confirm" name="confirm" value="yes" required>
        <label for="confirm">{{confirmLabel}}</label></div>
        <div><button type="submit" class="danger">{{button}}</button> <a href="{{backHref}}">Cancel</a></div>
        </form>
        """#

    static let done = #"""
        <h1>{{heading}}</h1>
        <p class="notice" role="status">{{message}}</p>
        <p><a href="{{nextHref}}">{{nextLabel}}</a></p>
        """#
}
