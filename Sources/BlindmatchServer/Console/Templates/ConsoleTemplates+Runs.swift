extension ConsoleTemplates {
    static let runs = #"""
        <p class="crumbs"><a href="/console/projects">Projects</a> › <a href="/console/projects/{{id}}">{{name}}</a> ›</p>
        <h1>Runs</h1>
        <table>
        <caption>Runs, newest first</caption>
        <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Stage</th>
        <th scope="col">Requested by</th><th scope="col">Queued</th><th scope="col">Finished</th>
        <th scope="col" class="num">Matches</th><th scope="col" class="num">Possible</th></tr></thead>
        <tbody>
        {{#items}}<tr><td><a href="/console/projects/{{project}}/runs/{{id}}"><code>{{id}}</code></a></td>
        <td>{{status}}</td><td>{{stage}} ({{percent}}%)</td><td>{{requestedBy}}</td><td>{{queuedAt}}</td>
        <td>{{finishedAt}}</td><td class="num">{{matches}}</td><td class="num">{{possible}}</td></tr>{{/items}}
        {{^items}}<tr><td colspan="8">No run yet.</td></tr>{{/items}}
        </tbody>
        </table>
        {{#next}}<p class="pager"><a href="/console/projects/{{id}}/runs?cursor={{next}}">Older runs</a></p>{{/next}}
        """#

    /// A run, with live progress: the small script polls the run's JSON and updates the progress bar and status;
    /// without it the page offers a refresh link.
    static let run = #"""
        <p class="crumbs"><a href="/console/projects">Projects</a> › <a href="/console/projects/{{project}}">{{projectName}}</a> ›
        <a href="/console/projects/{{project}}/runs">Runs</a> ›</p>
        <h1>Run <code>{{id}}</code></h1>
        <section aria-labelledby="progress-heading">
        <h2 id="progress-heading">Progress</h2>
        <p>Status: <strong id="run-status" data-status="{{status}}">{{status}}</strong> ·
        stage <span id="run-stage">{{stage}}</span> ·
        <span id="run-percent">{{percent}}</span>% done</p>
        <progress id="run-progress" max="100" value="{{percent}}" aria-labelledby="progress-heading">{{percent}}%</progress>
        {{#live}}
        <p class="noprint" id="refresh"><a href="/console/projects/{{project}}/runs/{{id}}">Refresh</a> to see how far it is.</p>
        <script nonce="{{nonce}}">
        (function () {
          var url = "/console/projects/{{project}}/runs/{{id}}/progress";
          var status = document.getElementById("run-status");
          function poll() {
            fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
              .then(function (r) { return r.ok ? r.json() : null; })
              .then(function (run) {
                if (!run) { return; }
                var percent = Math.round(run.progress.fraction * 100);
                status.textContent = run.status; status.dataset.status = run.status;
                document.getElementById("run-stage").textContent = run.progress.stage;
                document.getElementById("run-percent").textContent = percent;
                document.getElementById("run-progress").value = percent;
                if (run.status === "succeeded" || run.status === "failed") { window.location.reload(); }
                else { window.setTimeout(poll, 1000); }
              })
              .catch(function () {});
          }
          document.getElementById("refresh").textContent = "This page follows the run as it goes.";
          window.setTimeout(poll, 1000);
        })();
        </script>
        {{/live}}
        </section>
        <h2>Summary</h2>
        {{#isParty}}<p class="notice">What your grant allows you to read: counts outside it are withheld.</p>{{/isParty}}
        <dl class="facts">
        {{#summary}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/summary}}
        <dt>Requested by</dt><dd>{{requestedBy}}</dd>
        <dt>Queued</dt><dd>{{queuedAt}}</dd>
        <dt>Started</dt><dd>{{startedAt}}</dd>
        <dt>Finished</dt><dd>{{finishedAt}}</dd>
        <dt>Attempt</dt><dd>{{attempt}}</dd>
        <dt>Watch-list upload</dt><dd><code>{{watchlistUpload}}</code></dd>
        <dt>Bulk upload</dt><dd><code>{{bulkUpload}}</code></dd>
        </dl>
        {{#failure}}<p class="warning">Failed: <code>{{code}}</code> — {{message}}</p>{{/failure}}
        {{#reportHref}}<p><a href="{{reportHref}}">{{reportLabel}}</a></p>{{/reportHref}}
        """#

    static let report = #"""
        <p class="crumbs"><a href="/console/projects">Projects</a> › <a href="/console/projects/{{project}}">{{projectName}}</a> ›
        <a href="/console/projects/{{project}}/runs/{{run}}">Run {{run}}</a> ›</p>
        <h1>Quality report of run <code>{{run}}</code></h1>
        {{#fitted}}<p>The decision model's own estimates ({{model}}), made without ground truth from the run's candidate
        pairs; a true pair that was never a candidate is invisible to them. Weights are log₂ odds of a match.</p>{{/fitted}}
        {{^fitted}}<p>No decision model was fitted (model {{model}}): the match keys' exact joins and the fixed rule
        decided, so there is nothing to chart.</p>{{/fitted}}
        <dl class="facts">
        {{#estimate}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/estimate}}
        </dl>
        {{#fitted}}
        <h2 id="histogram-heading">Score histogram</h2>
        <div class="charts">
        <figure aria-labelledby="histogram-heading">
        {{{histogramSVG}}}
        <figcaption>Expected matches (dark, solid) and non-matches (grey, hatched) per match-weight bin; bar heights
        on a logarithmic scale; the vertical line is the threshold ({{threshold}}).</figcaption>
        </figure>
        <div class="scroll">
        <table id="histogram-table">
        <caption>Histogram data</caption>
        <thead><tr><th scope="col">Weight from</th><th scope="col">to</th><th scope="col" class="num">Matches</th>
        <th scope="col" class="num">Non-matches</th></tr></thead>
        <tbody>{{#bins}}<tr><td>{{from}}</td><td>{{to}}</td><td class="num">{{matches}}</td>
        <td class="num">{{nonMatches}}</td></tr>{{/bins}}</tbody>
        </table>
        </div>
        </div>
        <h2 id="curve-heading">Estimated precision and recall against the threshold</h2>
        <div class="charts">
        <figure aria-labelledby="curve-heading">
        {{{curveSVG}}}
        <figcaption>Precision (blue, solid) and recall (red, dashed) if the threshold were each weight; the vertical
        line is the run's threshold.</figcaption>
        </figure>
        <div class="scroll">
        <table id="curve-table">
        <caption>Curve data</caption>
        <thead><tr><th scope="col">Threshold</th><th scope="col" class="num">Precision</th>
        <th scope="col" class="num">Recall</th><th scope="col" class="num">F1</th></tr></thead>
        <tbody>{{#curve}}<tr><td>{{threshold}}</td><td class="num">{{precision}}</td><td class="num">{{recall}}</td>
        <td class="num">{{f1}}</td></tr>{{/curve}}</tbody>
        </table>
        </div>
        </div>
        {{/fitted}}
        """#
}
