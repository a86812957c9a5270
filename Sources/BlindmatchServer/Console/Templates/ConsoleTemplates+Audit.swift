extension ConsoleTemplates {
    static let audit = #"""
        <h1>Audit log</h1>
        <div class="verdict {{#holds}}good{{/holds}}{{^holds}}bad{{/holds}}" role="status" id="verdict">
        {{#holds}}<p><strong>The chain holds.</strong> All {{entries}} entries link to the one before, and
        {{checkpoints}} checkpoints verify under the matcher's key <code>{{keyFingerprint}}</code>.
        {{#lastCheckpoint}}The last checkpoint signs everything up to seq {{lastCheckpoint}}.{{/lastCheckpoint}}
        {{unsigned}} later entries are not signed yet (the next checkpoint or export signs them).</p>{{/holds}}
        {{^holds}}<p><strong>The chain does NOT hold.</strong> {{failureCount}} failures; the first:
        {{firstFailure}}</p>{{/holds}}
        </div>
        <p class="hint">Checked on the server with the verifier that <code>blindmatch audit verify</code> uses
        (SPEC §10.5): from the stored log's first line at {{checkedFrom}}, and the {{newlyChecked}} entries appended
        since the previous view just now. <a class="noprint" href="/console/audit?recheck=1">Check the whole log again
        from its first line</a> (it reads and hashes every entry). The service also checks the whole stored log at start
        and before it signs each checkpoint. To check it yourself, download the export and run
        <code>blindmatch audit verify audit.jsonl --public-key matcher.pub</code> with the key obtained out of band.</p>
        <form method="post" action="/console/audit/export">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Download the export (audit.jsonl)</button>
        <span class="hint">An export is itself audited (<code>audit.exported</code>) and ends with a checkpoint.</span>
        </form>
        <h2>Entries {{rangeFrom}}–{{rangeTo}}, newest first</h2>
        <table>
        <caption>Audit entries</caption>
        <thead><tr><th scope="col" class="num">Seq</th><th scope="col">Time</th><th scope="col">Actor</th>
        <th scope="col">Action</th><th scope="col">Project</th><th scope="col">Details</th></tr></thead>
        <tbody>
        {{#items}}<tr><td class="num">{{seq}}</td><td>{{time}}</td><td>{{actor}}</td><td>{{action}}</td>
        <td>{{project}}</td><td><code>{{details}}</code></td></tr>{{/items}}
        </tbody>
        </table>
        <p class="pager">{{#newer}}<a href="/console/audit?before={{newer}}">Newer entries</a>{{/newer}}
        {{#older}}<a href="/console/audit?before={{older}}">Older entries</a>{{/older}}</p>
        """#
}
