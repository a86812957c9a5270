#!/usr/bin/env python3
"""The web console in a real browser (issue 14): Selenium drives Debian's headless chromium and chromium-driver
against a real `blindmatch serve` on loopback with the service fixture's demo project (Scripts/service-fixture.sh).

    Scripts/console-browser-test.py [BLINDMATCH_BINARY] [SCREENSHOT_DIR]

Defaults: .build/debug/blindmatch and .build/console-screenshots. Needs `pip install -r Scripts/requirements-console.txt`
and `apt-get install chromium chromium-driver`. Asserts on the pages' content, never on pixels; keeps a full-page
screenshot of every page it visits (numbered, in order) for people to look at.

Walks: the operator signs in, reads the projects, the project, its uploads (one refused on purpose), follows a new run
to its end on its live page, opens its histogram, issues a token and revokes it, reads health and metrics and the audit
log; the auditor signs in, sees the chain verified, downloads the export (checked with `blindmatch audit verify`), and
is refused a write (a real POST with a valid CSRF token, so it is the server that refuses); each party signs in and
sees only its own project, its own uploads and the counts of its grant.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/blindmatch"))
    shots = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build/console-screenshots"))
    if "CONSOLE_TEST_URL" not in os.environ:
        # Start the fixture (a real server with one project, both uploads, one run and a token per role) in a shell,
        # run this script again inside it, and stop the fixture whatever happens.
        script = (
            'source "$1/Scripts/service-fixture.sh" && fixture_start "$2" 1000 20000 || exit 1\n'
            'CONSOLE_TEST_URL=$url CONSOLE_TEST_PROJECT=$project CONSOLE_TEST_WORK=$work '
            'CONSOLE_OPERATOR=$operator_token CONSOLE_AUDITOR=$auditor_token CONSOLE_A=$a_token CONSOLE_B=$b_token '
            'python3 "$1/Scripts/console-browser-test.py" "$2" "$3"; status=$?\n'
            'fixture_stop; exit $status\n'
        )
        sys.exit(subprocess.call(["bash", "-c", script, "bash", ROOT, binary, shots]))
    BrowserTest(binary, shots).run()


class BrowserTest:
    def __init__(self, binary, shots):
        self.binary = binary
        self.shots = shots
        self.url = os.environ["CONSOLE_TEST_URL"]
        self.project = os.environ["CONSOLE_TEST_PROJECT"]
        self.work = os.environ["CONSOLE_TEST_WORK"]
        self.tokens = {
            "operator": os.environ["CONSOLE_OPERATOR"],
            "auditor": os.environ["CONSOLE_AUDITOR"],
            "agency-a": os.environ["CONSOLE_A"],
            "council-b": os.environ["CONSOLE_B"],
        }
        self.count = 0
        self.downloads = os.path.join(self.work, "downloads")
        os.makedirs(shots, exist_ok=True)
        for name in os.listdir(shots):
            if name.endswith(".png"):
                os.remove(os.path.join(shots, name))
        os.makedirs(self.downloads, exist_ok=True)

    # The API, as another client would use it.
    def api(self, method, path, token, body=None, content_type="application/json"):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + token)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def browser(self):
        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
            options.add_argument(argument)
        options.binary_location = "/usr/bin/chromium"
        options.add_experimental_option(
            "prefs", {"download.default_directory": self.downloads, "download.prompt_for_download": False})
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(60)
        driver.implicitly_wait(10)
        return driver

    def shot(self, driver, name):
        """A full-page screenshot, numbered in visiting order."""
        self.count += 1
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
        path = os.path.join(self.shots, "%02d-%s.png" % (self.count, name))
        driver.save_screenshot(path)
        driver.set_window_size(1280, 900)
        print("  screenshot", os.path.relpath(path, ROOT))

    @staticmethod
    def text(driver):
        """The page's visible text, read in one script call: a page that is replaced while it is read (a form post
        answered by a redirect) cannot leave a half-read element behind, which chromedriver reports as "Node with
        given id does not belong to the document" rather than as a stale element."""
        return driver.execute_script("return document.body ? document.body.innerText : '';") or ""

    def wait_for_text(self, driver, text):
        """Waits (a click returns before the next page has loaded) until the page shows `text`."""
        def shows(d):
            try:
                return text in self.text(d)
            except (StaleElementReferenceException, JavascriptException):  # the old page went away while it was read
                return False

        try:
            WebDriverWait(driver, 30, poll_frequency=0.2).until(shows)
        except TimeoutException:
            raise AssertionError("the page never showed %r: %s" % (text, self.text(driver)[:500]))

    def expect(self, condition, message):
        if not condition:
            raise AssertionError(message)

    def sign_in(self, driver, who):
        driver.get(self.url + "/console")
        self.expect(driver.current_url.endswith("/console/sign-in"), "an anonymous visit is sent to sign in")
        field = driver.find_element(By.ID, "token")
        self.expect(driver.find_element(By.CSS_SELECTOR, "label[for=token]").text == "Bearer token", "the field has a label")
        field.send_keys(self.tokens[who])
        field.submit()
        WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/console/projects"))
        self.expect(self.tokens[who] not in driver.page_source, "the token never appears on a page")

    def sign_out(self, driver):
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        WebDriverWait(driver, 20).until(lambda d: "/console/sign-in" in d.current_url)
        self.expect("You signed out." in self.text(driver), "signing out says so")

    def run(self):
        start = time.time()
        # A refused upload (not a token file), so that the uploads page has one to show with its rule.
        status, _ = self.api(
            "POST", "/projects/%s/parties/agency-a/uploads" % self.project, self.tokens["agency-a"],
            b"not a token file", "application/vnd.blindmatch.tokens")
        self.expect(status in (400, 422), "a malformed token file is refused (%d)" % status)
        self.operator()
        self.auditor()
        self.party("agency-a", own_count="Watch-list records", withheld="Bulk records")
        self.party("council-b", own_count="Bulk records", withheld="Watch-list records")
        print("console browser test: passed, %d screenshots in %s (%.0f s)"
              % (self.count, os.path.relpath(self.shots, ROOT), time.time() - start))

    def operator(self):
        print("operator")
        driver = self.browser()
        try:
            driver.get(self.url + "/console/projects")
            self.expect(driver.current_url.endswith("/console/sign-in"), "no session: sent to sign in")
            self.shot(driver, "sign-in")
            self.sign_in(driver, "operator")
            body = self.text(driver)
            self.expect("fixture" in body and self.project in body, "the projects list shows the fixture project")
            self.expect("Signed in as operator" in body, "the header says who is signed in")
            self.shot(driver, "operator-projects")

            driver.find_element(By.LINK_TEXT, "fixture").click()
            self.wait_for_text(driver, "Disclosure policy")
            body = self.text(driver)
            for expected in ["Fixture.", "Synthetic data.", "agency-a", "council-b", "watchlist", "bulk",
                             "Disclosure policy", "Matching settings", "Run policy", "Close this project"]:
                self.expect(expected in body, "the project page shows %r" % expected)
            fingerprints = driver.find_elements(By.CSS_SELECTOR, "table td code")
            self.expect(len([f for f in fingerprints if len(f.text) >= 16]) >= 2, "both parties' key fingerprints")
            self.shot(driver, "operator-project")
            # Replacing a party's key asks for the new key and a confirmation (not submitted here).
            driver.find_element(By.LINK_TEXT, "Replace agency-a's key…").click()
            self.wait_for_text(driver, "Current key fingerprint")
            self.expect(driver.find_element(By.CSS_SELECTOR, "label[for=pem]").is_displayed(), "the key has a label")
            self.shot(driver, "operator-key-confirm")
            driver.back()
            self.wait_for_text(driver, "Disclosure policy")

            driver.find_element(By.LINK_TEXT, "Uploads").click()
            self.wait_for_text(driver, "Accepted token files")
            body = self.text(driver)
            self.expect("Refused uploads" in body and "SPEC" in body, "the refused upload is shown with its rule")
            self.expect("council-b" in body and "agency-a" in body, "both parties' accepted uploads")
            self.shot(driver, "operator-uploads")

            # A new run, requested by the watch list and approved by the bulk agency (the project's run policy), then
            # followed live on its page until it ends.
            status, queued = self.api("POST", "/projects/%s/runs" % self.project, self.tokens["agency-a"])
            self.expect(status == 202, "the watch-list agency requests a run (%d)" % status)
            run = queued["id"]
            driver.get("%s/console/projects/%s/runs/%s" % (self.url, self.project, run))
            self.wait_for_text(driver, "awaitingApproval")
            self.shot(driver, "operator-run-awaiting-approval")
            status, _ = self.api("POST", "/projects/%s/runs/%s/approve" % (self.project, run), self.tokens["council-b"])
            self.expect(status == 200, "the bulk agency approves the run (%d)" % status)
            driver.get("%s/console/projects/%s/runs/%s" % (self.url, self.project, run))
            first = driver.find_element(By.ID, "run-status").get_attribute("data-status")
            print("  run %s first seen %s" % (run, first))
            self.shot(driver, "operator-run-%s" % first)
            WebDriverWait(driver, 180, poll_frequency=0.5).until(
                lambda d: d.find_element(By.ID, "run-status").get_attribute("data-status") in ("succeeded", "failed"))
            self.expect(driver.find_element(By.ID, "run-status").text == "succeeded", "the run succeeded")
            body = self.text(driver)
            self.expect("Filter comparisons" in body and "withheld" not in body, "the operator reads every count")
            self.expect(driver.find_element(By.ID, "run-progress").get_attribute("value") == "100", "progress 100%")
            self.shot(driver, "operator-run-succeeded")

            driver.find_element(By.PARTIAL_LINK_TEXT, "Score histogram").click()
            self.wait_for_text(driver, "Quality report of run")
            svgs = driver.find_elements(By.CSS_SELECTOR, "figure svg[role=img]")
            self.expect(len(svgs) == 2, "the histogram and the curve are drawn")
            rows = driver.find_elements(By.CSS_SELECTOR, "#histogram-table tbody tr")
            self.expect(len(rows) >= 3, "the histogram's data table has its bins")
            self.expect(len(driver.find_elements(By.CSS_SELECTOR, "#curve-table tbody tr")) >= 3, "the curve's table")
            self.expect("Estimated precision" in self.text(driver), "the estimates are listed")
            self.shot(driver, "operator-run-report")

            driver.get("%s/console/projects/%s/runs" % (self.url, self.project))
            self.expect(run in self.text(driver), "the runs list shows the new run")
            self.shot(driver, "operator-runs")

            # Issue a token (the secret shown once), then revoke it with confirmation.
            driver.find_element(By.LINK_TEXT, "Tokens").click()
            self.wait_for_text(driver, "Issue a token")
            self.shot(driver, "operator-tokens")
            driver.find_element(By.CSS_SELECTOR, "#role option[value=auditor]").click()
            driver.find_element(By.ID, "name").send_keys("browser-auditor")
            driver.find_element(By.CSS_SELECTOR, "form.stack button").click()
            self.wait_for_text(driver, "Token issued")
            secret = driver.find_element(By.ID, "secret").get_attribute("value")
            self.expect(secret.startswith("bm_") and len(secret) == 46, "the new token is shown once")
            label = driver.find_element(By.CSS_SELECTOR, "label[for=secret]").text
            token_id = label.split()[1]
            self.shot(driver, "operator-token-issued")
            self.expect(self.api("GET", "/me", secret)[0] == 200, "the issued token works on the API")
            driver.find_element(By.LINK_TEXT, "Back to the tokens").click()
            self.wait_for_text(driver, "Issue a token")
            self.expect(secret not in driver.page_source, "the secret is not shown again")
            driver.find_element(By.LINK_TEXT, "Revoke %s…" % token_id).click()
            self.wait_for_text(driver, "I want to revoke")
            self.shot(driver, "operator-token-revoke-confirm")
            driver.find_element(By.ID, "confirm").click()
            driver.find_element(By.CSS_SELECTOR, "button.danger").click()
            self.wait_for_text(driver, "Token %s is revoked" % token_id)
            self.shot(driver, "operator-token-revoked")
            self.expect(self.api("GET", "/me", secret)[0] == 401, "the revoked token no longer works")

            driver.find_element(By.LINK_TEXT, "Health and metrics").click()
            self.wait_for_text(driver, "Metrics (as")
            body = self.text(driver)
            self.expect("Healthy" in body and "Uploads refused" in body, "health and metrics")
            self.shot(driver, "operator-service")

            driver.find_element(By.LINK_TEXT, "Audit log").click()
            self.wait_for_text(driver, "The chain holds.")
            self.shot(driver, "operator-audit")
            self.sign_out(driver)
            driver.get(self.url + "/console/projects")
            self.expect(driver.current_url.endswith("/console/sign-in"), "after signing out the session is gone")
        finally:
            driver.quit()

    def auditor(self):
        print("auditor")
        driver = self.browser()
        try:
            self.sign_in(driver, "auditor")
            nav = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "nav a")]
            self.expect(nav == ["Projects", "Audit log"], "the auditor's navigation: %s" % nav)
            driver.find_element(By.LINK_TEXT, "Audit log").click()
            self.wait_for_text(driver, "Audit entries")
            body = self.text(driver)
            self.expect("The chain holds." in body, "the chain is verified on the server")
            for action in ["token.issued", "token.revoked", "upload.refused", "run.succeeded"]:
                self.expect(action in body, "the log shows %s" % action)
            self.shot(driver, "auditor-audit")
            # As printed (auditors file these pages): the print stylesheet drops the navigation and the forms.
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
            self.expect(not driver.find_element(By.CSS_SELECTOR, "header.bar").is_displayed(), "no header in print")
            self.expect(driver.find_element(By.ID, "verdict").is_displayed(), "the verdict prints")
            self.shot(driver, "auditor-audit-print")
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

            driver.find_element(By.CSS_SELECTOR, "form[action='/console/audit/export'] button").click()
            exported = os.path.join(self.downloads, "audit.jsonl")
            for _ in range(100):
                if os.path.exists(exported):
                    break
                time.sleep(0.2)
            self.expect(os.path.exists(exported), "the export was downloaded")
            verified = subprocess.run(
                [self.binary, "audit", "verify", exported, "--public-key",
                 os.path.join(self.work, "server/data/matcher.pub")], capture_output=True, text=True)
            self.expect(verified.returncode == 0, "the downloaded export verifies offline: %s" % verified.stdout)
            print("  audit verify:", verified.stdout.strip().splitlines()[-1] if verified.stdout.strip() else "")

            # A write the auditor's page does not offer: a real POST with the session's CSRF token. The server refuses.
            driver.get("%s/console/projects/%s" % (self.url, self.project))
            self.expect("Close this project" not in self.text(driver), "no close link for the auditor")
            driver.execute_script("""
                var csrf = document.querySelector('form.signout input[name=csrf]').value;
                var form = document.createElement('form');
                form.method = 'post'; form.action = '/console/projects/' + arguments[0] + '/close';
                for (var [name, value] of [['csrf', csrf], ['reason', 'an auditor tries'], ['confirm', 'yes']]) {
                    var input = document.createElement('input');
                    input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
                }
                document.body.appendChild(form); form.submit();""", self.project)
            self.wait_for_text(driver, "Not allowed")
            self.expect("auditor role cannot do this" in self.text(driver), "the server refuses the auditor's write")
            self.shot(driver, "auditor-write-refused")
            status, project = self.api("GET", "/projects/" + self.project, self.tokens["operator"])
            self.expect(project["status"] == "open", "the project is still open")
            driver.get(self.url + "/console/tokens")
            self.expect("Not allowed" in self.text(driver), "the auditor cannot open the tokens page")
            self.sign_out(driver)
        finally:
            driver.quit()

    def party(self, name, own_count, withheld):
        print("party", name)
        driver = self.browser()
        try:
            self.sign_in(driver, name)
            nav = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "nav a")]
            self.expect(nav == ["Projects"], "a party's navigation: %s" % nav)
            rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
            self.expect(len(rows) == 1 and self.project in rows[0].text, "a party sees its own project only")
            self.shot(driver, "%s-projects" % name)
            driver.get("%s/console/projects/%s/uploads" % (self.url, self.project))
            body = self.text(driver)
            other = "council-b" if name == "agency-a" else "agency-a"
            self.expect(name in body and other not in body, "a party sees only its own uploads")
            self.expect("Refused uploads" not in body, "refusals come from the audit log, which a party cannot read")
            self.shot(driver, "%s-uploads" % name)
            driver.get("%s/console/projects/%s/runs" % (self.url, self.project))
            driver.find_element(By.CSS_SELECTOR, "tbody tr a").click()
            self.wait_for_text(driver, "Summary")
            body = self.text(driver)
            self.expect("What your grant allows" in body, "the party view says it is a party view")
            facts = {dt.text: dd.text for dt, dd in zip(driver.find_elements(By.CSS_SELECTOR, "dl.facts dt"),
                                                        driver.find_elements(By.CSS_SELECTOR, "dl.facts dd"))}
            self.expect(facts[own_count] not in ("withheld", "—"), "its own upload's size: %s" % facts)
            self.expect(facts[withheld] == "withheld", "the other side's size is withheld: %s" % facts)
            self.expect(facts["Filter comparisons"] == "withheld", "comparisons are withheld from a party")
            self.expect("Score histogram" not in body, "no report for a party")
            self.shot(driver, "%s-run" % name)
            driver.get(driver.current_url + "/report")
            self.expect("Not allowed" in self.text(driver), "the report is refused to a party")
            driver.get(self.url + "/console/audit")
            self.expect("Not allowed" in self.text(driver), "the audit log is refused to a party")
            self.shot(driver, "%s-audit-refused" % name)
            self.sign_out(driver)
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
