package ui_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/ui"
)

// The browser tests drive a real headless Chromium against the UI on a
// loopback port, over a database the demo filled. Chromium is
// $METATRACK_CHROMIUM, or chromium on PATH (Debian's package: apt-get
// install chromium). Without it the tests skip, except with CI=true,
// where they fail. Screenshots of every page go to
// $METATRACK_UI_SCREENSHOTS, or to the test's temporary directory.

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("METATRACK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal("no Chromium (chromium on PATH or $METATRACK_CHROMIUM): the browser tests cannot run, and CI must run them (apt-get install chromium)")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium, or set METATRACK_CHROMIUM); CI=true fails instead of skipping")
	return ""
}

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("METATRACK_UI_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// newBrowser starts Chromium with a fresh profile and returns a tab's
// context, ended with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return bctx
}

type shooter struct {
	t   *testing.T
	dir string
}

// shot saves a screenshot of the page's viewport as name.png.
func (s shooter) shot(ctx context.Context, name string) {
	s.t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), buf, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// stepTimeout bounds one step, so that a page that never comes fails its
// step instead of hanging the test.
const stepTimeout = 20 * time.Second

// do runs actions, failing the test on an error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the JavaScript expression is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: waited 15s for %s (last error %v)", what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get runs one action and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// load runs trigger (a click that navigates) and waits for the new page.
func load[T any](trigger chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil, trigger)(ctx, t)
		return chromedp.Void{}, err
	}
}

// void drops the value of a.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

func TestBrowser(t *testing.T) {
	tr, sum := openDemo(t)
	base := serveUI(t, tr)
	ctx := newBrowser(t)
	shots := shooter{t, screenshotDir(t)}
	bg := context.Background()
	mv2 := sum.Rounds[1].ModelVersion
	trialsQuery := fmt.Sprintf("type = 'experiment' AND parent = '%s'", mv2.Ref())

	t.Run("home", func(t *testing.T) {
		do(t, ctx, "home", chromedp.Navigate(base+"/"))
		chains := get(t, ctx, "chains", chromedp.Text(css("#chains")))
		runs := get(t, ctx, "runs", chromedp.Text(css("#runs")))
		for _, want := range []string{"model/titanic_model", "dataset/titanic_train", fmt.Sprintf("@%d in default", sum.Deployed.Version)} {
			if !strings.Contains(chains, want) {
				t.Errorf("chains table lacks %q:\n%s", want, chains)
			}
		}
		if !strings.Contains(runs, "demo") {
			t.Errorf("runs table lacks the demo's run:\n%s", runs)
		}
		shots.shot(ctx, "home")
	})

	t.Run("search", func(t *testing.T) {
		want, err := tr.SearchAll(bg, trialsQuery)
		if err != nil || len(want) < 2 {
			t.Fatalf("SearchAll: %d, %v", len(want), err)
		}
		do(t, ctx, "search", chromedp.Navigate(base+"/search"),
			chromedp.SetValue(css("#q"), trialsQuery),
			chromedp.SetValue(css("#cols"), "attrs.learning_rate, metadata.auc, metrics.valid_loss"),
			load(chromedp.Click(css("#run-search"))),
			chromedp.WaitVisible(css("#results")))
		refs := get(t, ctx, "rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#results tbody th a')].map(a => a.textContent)`))
		if len(refs) != len(want) {
			t.Fatalf("search shows %d rows, want %d: %v", len(refs), len(want), refs)
		}
		for i, r := range want {
			if refs[i] != r.Ref() {
				t.Errorf("row %d is %s, want %s", i, refs[i], r.Ref())
			}
		}
		header := get(t, ctx, "columns", chromedp.Text(css("#results thead")))
		for _, c := range []string{"attrs.learning_rate", "metadata.auc", "metrics.valid_loss"} {
			if !strings.Contains(header, c) {
				t.Errorf("results header lacks column %s: %q", c, header)
			}
		}
		shots.shot(ctx, "search")
	})

	t.Run("query error", func(t *testing.T) {
		bad := "type = 'model_version' AND metadata.auc >"
		_, err := tr.Search(bg, bad)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Line == 0 {
			t.Fatalf("the library gives no positioned error for %q: %v", bad, err)
		}
		do(t, ctx, "query error", chromedp.Navigate(base+"/search"),
			chromedp.SetValue(css("#q"), bad),
			load(chromedp.Click(css("#run-search"))),
			chromedp.WaitVisible(css("#query-error")))
		msg := get(t, ctx, "message", chromedp.Text(css("#query-error")))
		at := get(t, ctx, "mark", chromedp.Evaluate[int](`(function(){var m=document.querySelector('#query-error-at'); var n=0;
			for (var c=m.parentNode.firstChild; c && c!==m; c=c.nextSibling) n+=c.textContent.length; return n;})()`))
		if want := fmt.Sprintf("line %d, column %d", qe.Line, qe.Column); !strings.Contains(msg, want) {
			t.Errorf("the error says %q, want %q", msg, want)
		}
		if !strings.Contains(msg, qe.Msg) {
			t.Errorf("the error says %q, want the library's message %q", msg, qe.Msg)
		}
		if at != qe.Offset {
			t.Errorf("the error is marked at offset %d, want %d", at, qe.Offset)
		}
		shots.shot(ctx, "search-error")
	})

	exp := sum.Rounds[1].Winner
	t.Run("resource", func(t *testing.T) {
		do(t, ctx, "resource", chromedp.Navigate(base+"/r/"+exp.Ref()), chromedp.WaitReady(css("#lineage canvas")))
		title := get(t, ctx, "title", chromedp.Text(css("#title")))
		hist := get(t, ctx, "history", chromedp.Text(css("#history")))
		charts := get(t, ctx, "charts", chromedp.Evaluate[int](`document.querySelectorAll('.plot canvas').length`))
		if !strings.Contains(title, exp.Ref()) {
			t.Errorf("title %q, want %s", title, exp.Ref())
		}
		if !strings.Contains(hist, "created") {
			t.Errorf("change log lacks the creation: %q", hist)
		}
		sums, err := tr.Metrics(bg, exp)
		if err != nil || len(sums) == 0 {
			t.Fatalf("Metrics: %v, %v", sums, err)
		}
		if charts < len(sums) {
			t.Errorf("%d charts drawn, want one per series (%d)", charts, len(sums))
		}
		// The SVG report is shown in place (lazy images load when scrolled to).
		do(t, ctx, "image", chromedp.ScrollIntoView(css(".artifacts img")))
		waitJS(t, ctx, "image", `[...document.querySelectorAll('.artifacts img')].some(i => i.complete && i.naturalWidth > 0)`)
		do(t, ctx, "top", void(chromedp.Evaluate[any](`window.scrollTo(0, 0)`)))
		shots.shot(ctx, "resource-top")
		do(t, ctx, "metrics", void(chromedp.Evaluate[any](`document.getElementById('h-metrics').scrollIntoView()`)))
		shots.shot(ctx, "resource")
	})

	t.Run("download artifact", func(t *testing.T) {
		arts, err := tr.Artifacts(bg, exp, "")
		if err != nil {
			t.Fatal(err)
		}
		var art metatrack.Artifact
		for _, a := range arts {
			if a.Name == "model.json" {
				art = a
			}
		}
		if art.SHA256 == "" {
			t.Fatalf("%s has no model.json: %v", exp.Ref(), arts)
		}
		dir := t.TempDir()
		enabled := true
		if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &enabled}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "page", chromedp.Navigate(base+"/r/"+exp.Ref()))
		events := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
		do(t, ctx, "click", chromedp.Click(css(`a.download[href$="name=model.json"]`)))
		var guid string
		for ev, err := range events {
			if err != nil {
				t.Fatal(err)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				guid = ev.GUID
				break
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatal("the download was cancelled")
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != art.SHA256 || int64(len(b)) != art.Size {
			t.Errorf("downloaded %d bytes with sha256 %s, want %d bytes with %s", len(b), got, art.Size, art.SHA256)
		}
	})

	t.Run("lineage click", func(t *testing.T) {
		dv := sum.Rounds[1].DatasetVersion
		do(t, ctx, "lineage", chromedp.Navigate(base+"/r/"+exp.Ref()), chromedp.ScrollIntoView(css("#lineage")))
		waitJS(t, ctx, "lineage", `!!(document.getElementById('lineage').cy)`)
		pos := get(t, ctx, "node position", chromedp.Evaluate[struct{ X, Y float64 }](fmt.Sprintf(`(function(){
			var el=document.getElementById('lineage'); var n=el.cy.getElementById(%q);
			var p=n.renderedPosition(); var r=el.getBoundingClientRect(); return {X: r.left+p.x, Y: r.top+p.y};})()`, dv.ID)))
		shots.shot(ctx, "resource-lineage")
		pressed := func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }
		do(t, ctx, "click", chromedp.MouseEvent(chromedp.MouseMoved, pos.X, pos.Y),
			load(chromedp.Steps(
				chromedp.MouseEvent(chromedp.MousePressed, pos.X, pos.Y, chromedp.ButtonLeft, chromedp.ClickCount(1), pressed),
				chromedp.MouseEvent(chromedp.MouseReleased, pos.X, pos.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)))))
		loc := get(t, ctx, "location", chromedp.Location())
		title := get(t, ctx, "title", chromedp.Text(css("#title")))
		if u, _ := url.Parse(loc); u.Path != "/r/"+dv.Ref() || !strings.Contains(title, dv.Ref()) {
			t.Errorf("after clicking the node of %s: %s titled %q", dv.Ref(), loc, title)
		}
		shots.shot(ctx, "lineage-target")
	})

	t.Run("compare", func(t *testing.T) {
		do(t, ctx, "compare", chromedp.Navigate(base+"/search?q="+url.QueryEscape(trialsQuery)),
			chromedp.Click(css("#sel-0")), chromedp.Click(css("#sel-1")),
			load(chromedp.Click(css("#compare-selected"))),
			chromedp.WaitVisible(css(".plot canvas")))
		// For each chart, the number of its series that have points.
		curves := get(t, ctx, "curves", chromedp.Evaluate[[]int](`[...document.querySelectorAll('.plot')].map(el => el.uplot.data.slice(1).filter(s => s.some(v => v !== null)).length)`))
		if len(curves) == 0 {
			t.Fatal("no chart on the compare page")
		}
		for i, n := range curves {
			if n != 2 {
				t.Errorf("chart %d has %d curves with points, want 2", i, n)
			}
		}
		// Pixels of both curves' colours are on the first chart's canvas.
		pixels := get(t, ctx, "pixels", chromedp.Evaluate[[]int](`(function(){
			var c=document.querySelector('.plot canvas'); var d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;
			var cols=[[26,95,180],[192,28,40]]; var n=[0,0];
			for (var i=0;i<d.length;i+=4) for (var k=0;k<2;k++) { var e=cols[k];
				if (d[i+3]>200 && Math.abs(d[i]-e[0])+Math.abs(d[i+1]-e[1])+Math.abs(d[i+2]-e[2]) < 60) n[k]++; }
			return n;})()`))
		if len(pixels) != 2 || pixels[0] < 50 || pixels[1] < 50 {
			t.Errorf("pixels of the two curves' colours on the chart: %v, want at least 50 of each", pixels)
		}
		if n := get(t, ctx, "differs", chromedp.Evaluate[int](`document.querySelectorAll('#compare tr.differs').length`)); n == 0 {
			t.Error("no row of two different trials is marked as differing")
		}
		shots.shot(ctx, "compare")
	})

	t.Run("deployments", func(t *testing.T) {
		do(t, ctx, "deployments", chromedp.Navigate(base+"/deployments"))
		text := get(t, ctx, "text", chromedp.Text(css("main")))
		if !strings.Contains(text, sum.Deployed.Ref()) || !strings.Contains(text, "current") {
			t.Errorf("deployments page lacks the current deployment of %s:\n%s", sum.Deployed.Ref(), text)
		}
		shots.shot(ctx, "deployments")
	})

	t.Run("time travel", func(t *testing.T) {
		// Just before the second round began, the model had one version.
		at := sum.Rounds[1].DatasetVersion.CreatedAt.Add(-time.Millisecond)
		do(t, ctx, "at", chromedp.Navigate(base+"/?at="+url.QueryEscape(at.Format(time.RFC3339Nano))))
		chains := get(t, ctx, "chains", chromedp.Text(css("#chains")))
		banner := get(t, ctx, "banner", chromedp.Text(css(".banner")))
		row := rowOf(chains, "model/titanic_model")
		if !strings.Contains(row, "@1") || strings.Contains(row, "@2") || strings.Contains(row, "@3") {
			t.Errorf("at %s the model row is %q, want only @1", at, row)
		}
		if !strings.Contains(banner, "as it was at") {
			t.Errorf("no time-travel banner: %q", banner)
		}
		href := get(t, ctx, "link", chromedp.AttributeValue(css("#chains tbody th a"), "href"))
		if !strings.Contains(href.Value, "at=") {
			t.Errorf("a link on a page at a time loses the time: %s", href.Value)
		}
		shots.shot(ctx, "home-at")
	})

	t.Run("phone width", func(t *testing.T) {
		do(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		for _, p := range []string{"/", "/r/" + exp.Ref(), "/search?q=" + url.QueryEscape(trialsQuery), "/deployments"} {
			do(t, ctx, "phone "+p, chromedp.Navigate(base+p))
			if get(t, ctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
				t.Errorf("%s is wider than a phone's screen", p)
			}
		}
		shots.shot(ctx, "deployments-phone")
		do(t, ctx, "reset", chromedp.ResetViewport())
	})
}

// rowOf returns the line of text that contains s.
func rowOf(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestBrowserLogin(t *testing.T) {
	tr, _ := openDemo(t)
	_, secret, err := tr.CreateToken(context.Background(), "viewer", metatrack.RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	base := serveUI(t, tr, ui.WithTokenLogin())
	ctx := newBrowser(t)
	shots := shooter{t, screenshotDir(t)}
	path := func() string {
		u, err := url.Parse(get(t, ctx, "location", chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		return u.Path
	}

	do(t, ctx, "no token", chromedp.Navigate(base+"/search"), chromedp.WaitVisible(css("#token")))
	if p := path(); p != "/login" {
		t.Fatalf("without a token /search showed %s, want the login page", p)
	}
	shots.shot(ctx, "login")

	do(t, ctx, "wrong token", chromedp.SendKeys(css("#token"), "mtk_not-a-token"),
		load(chromedp.Click(css("#login-submit"))), chromedp.WaitVisible(css("#login-error")))
	if msg := get(t, ctx, "message", chromedp.Text(css("#login-error"))); !strings.Contains(msg, "not valid") {
		t.Errorf("a wrong token says %q", msg)
	}
	do(t, ctx, "again", chromedp.Navigate(base+"/search"), chromedp.WaitVisible(css("#token")))
	if p := path(); p != "/login" {
		t.Fatalf("after a wrong token /search showed %s, want the login page", p)
	}

	do(t, ctx, "right token", chromedp.SendKeys(css("#token"), secret),
		load(chromedp.Click(css("#login-submit"))), chromedp.WaitVisible(css("#q")))
	if p, h1 := path(), get(t, ctx, "h1", chromedp.Text(css("h1"))); p != "/search" || h1 != "Search" {
		t.Errorf("after logging in: %s titled %q, want the search page it asked for", p, h1)
	}
}
