package ui_test

import (
	"context"
	"crypto/tls"
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/ui"
)

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestLogin(t *testing.T) {
	tr, _ := openDemo(t)
	ctx := context.Background()
	tok, secret, err := tr.CreateToken(ctx, "viewer", metatrack.RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(ui.New(tr, ui.WithTokenLogin()))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test server's own certificate

	// Without a session every page, and the artifact download, sends to the login page.
	for _, p := range []string{"/", "/search?q=", "/r/model/titanic_model", "/artifact?res=x&name=y", "/search.csv?q="} {
		res, _ := fetch(t, c, "GET", srv.URL+p, nil)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("GET %s without a session: %d to %q, want 303 to the login page", p, res.StatusCode, loc)
		}
	}
	res, body := fetch(t, c, "POST", srv.URL+"/login", url.Values{"token": {"mtk_wrong"}, "next": {"/search"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") || len(res.Cookies()) != 0 {
		t.Fatalf("a wrong token: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	// A next that leaves the site is not followed.
	res, _ = fetch(t, c, "POST", srv.URL+"/login", url.Values{"token": {secret}, "next": {"//evil.example/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == ui.SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, secret) {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure (TLS), SameSite=Strict, not the token", cookie)
	}
	if res, _ := fetch(t, c, "GET", srv.URL+"/search?q=", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("with the session: %d", res.StatusCode)
	}
	// A revoked token ends its session.
	if err := tr.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if res, _ := fetch(t, c, "GET", srv.URL+"/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the token was revoked: %d, want 303 to the login page", res.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	tr, _ := openDemo(t)
	_, secret, err := tr.CreateToken(context.Background(), "viewer", metatrack.RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	base := serveUI(t, tr, ui.WithTokenLogin())
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	fetch(t, c, "POST", base+"/login", url.Values{"token": {secret}})
	if res, _ := fetch(t, c, "GET", base+"/", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("logged in: %d", res.StatusCode)
	}
	fetch(t, c, "POST", base+"/logout", url.Values{})
	if res, _ := fetch(t, c, "GET", base+"/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logging out: %d, want 303", res.StatusCode)
	}
}

func TestPagesAndErrors(t *testing.T) {
	tr, sum := openDemo(t)
	base := serveUI(t, tr)
	c := noRedirect(nil)
	exp := sum.Rounds[0].Winner
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "model/titanic_model"},
		{"/deployments", 200, sum.Deployed.Ref()},
		{"/r/" + exp.Ref(), 200, exp.Ref()},
		{"/r/" + exp.Ref() + "?dir=up&depth=1", 200, "lineage-data"},
		{"/compare?r=" + url.QueryEscape(exp.ID), 200, exp.Ref()},
		{"/search?q=" + url.QueryEscape("type = 'model_version'") + "&cols=status&sort=version&desc=1", 200, "model_version/titanic_model@3"},
		// A short reference that names a trial of each version: the candidates, linked.
		{"/r/experiment/trial-1", 409, `href="/r/model_version/titanic_model@1/experiment/trial-1"`},
		{"/r/model/nope", 404, "not found"},
		{"/r/" + exp.Ref() + "?depth=99", 400, "depth"},
		{"/r/" + exp.Ref() + "?dir=sideways", 400, "direction"},
		{"/?at=yesterday-ish", 400, "bad time"},
		{"/search?q=" + url.QueryEscape("type = ") + "", 400, "query-error-at"},
		{"/nowhere", 404, "no page"},
		{"/static/app.js", 200, "cytoscape"},
	}
	for _, tc := range cases {
		res, body := fetch(t, c, "GET", base+tc.path, nil)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.400s", tc.path, res.StatusCode, tc.status, tc.want, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	// A column header sorts by its column, and again the other way.
	_, body := fetch(t, c, "GET", base+"/search?q="+url.QueryEscape("type = 'model_version'")+"&cols=version", nil)
	if !strings.Contains(body, `href="/search?cols=version&amp;q=type&#43;%3D&#43;%27model_version%27&amp;sort=version"`) {
		t.Errorf("the version header does not sort by version:\n%s", body)
	}
	_, body = fetch(t, c, "GET", base+"/search?q="+url.QueryEscape("type = 'model_version'")+"&cols=version&sort=version", nil)
	if !strings.Contains(body, `aria-sort="ascending"`) || !strings.Contains(body, `sort=version&amp;desc=1`) && !strings.Contains(body, `desc=1&amp;q=`) {
		t.Errorf("sorted by version, the header is not marked ascending with a link to sort descending")
	}
	// Sorting by the control orders the rows.
	_, body = fetch(t, c, "GET", base+"/search?q="+url.QueryEscape("type = 'model_version'")+"&sort=version&desc=1", nil)
	if i, j := strings.Index(body, "titanic_model@3"), strings.Index(body, "titanic_model@1"); i < 0 || j < 0 || i > j {
		t.Errorf("sorted by version descending, @3 comes at %d and @1 at %d", i, j)
	}
}

func TestSearchCSV(t *testing.T) {
	tr, _ := openDemo(t)
	base := serveUI(t, tr)
	q := "type = 'experiment'"
	want, err := tr.SearchAll(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	res, body := fetch(t, noRedirect(nil), "GET", base+"/search.csv?q="+url.QueryEscape(q)+"&cols="+url.QueryEscape("metadata.auc,tags.*"), nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "id,ref,type,name,version,status,created_at,metadata.auc,tags.*" {
		t.Errorf("header %s", got)
	}
	if len(recs)-1 != len(want) {
		t.Fatalf("%d rows, want %d", len(recs)-1, len(want))
	}
	for i, r := range want {
		if recs[i+1][0] != r.ID || recs[i+1][7] == "" {
			t.Errorf("row %d: %v, want %s with its auc", i, recs[i+1], r.ID)
		}
	}
}

func TestArtifactHeaders(t *testing.T) {
	tr, sum := openDemo(t)
	base := serveUI(t, tr)
	c := noRedirect(nil)
	exp := sum.Rounds[0].Winner
	get := func(name string, inline bool) *http.Response {
		u := base + "/artifact?res=" + url.QueryEscape(exp.ID) + "&name=" + url.QueryEscape(name)
		if inline {
			u += "&inline=1"
		}
		res, _ := fetch(t, c, "GET", u, nil)
		return res
	}
	if res := get("roc_valid.svg", true); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("inline SVG: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Security-Policy"))
	}
	// Only images are served inline; anything else is a download.
	if res := get("model.json", true); res.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("model.json with inline=1: %q %q", res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	if res := get("nothing.bin", false); res.StatusCode != 404 {
		t.Errorf("a missing artifact: %d", res.StatusCode)
	}
}

func TestTimeTravel(t *testing.T) {
	tr, sum := openDemo(t)
	ctx := context.Background()
	mv := sum.Rounds[0].ModelVersion
	if err := tr.LogTag(ctx, mv, "stage", "candidate"); err != nil {
		t.Fatal(err)
	}
	hist, err := tr.History(ctx, mv)
	if err != nil {
		t.Fatal(err)
	}
	then := hist[len(hist)-1].At
	// The next change must come at a later millisecond than then. Setting
	// a tag to the value it has records nothing, so wait for the clock
	// and change it once (retrying the same value would loop for ever).
	for !time.Now().After(then.Add(time.Millisecond)) {
		time.Sleep(time.Millisecond)
	}
	if err := tr.LogTag(ctx, mv, "stage", "retired"); err != nil {
		t.Fatal(err)
	}
	if h, err := tr.History(ctx, mv); err != nil {
		t.Fatal(err)
	} else if !h[len(h)-1].At.After(then) {
		t.Fatalf("the change to retired is recorded at %v, not after %v", h[len(h)-1].At, then)
	}
	base := serveUI(t, tr)
	c := noRedirect(nil)
	page := base + "/r/" + mv.Ref()
	_, now := fetch(t, c, "GET", page, nil)
	_, past := fetch(t, c, "GET", page+"?at="+url.QueryEscape(then.Format("2006-01-02T15:04:05.000Z")), nil)
	tag := func(v string) string { return `<th scope="row">stage</th><td>` + v + `</td>` }
	if !strings.Contains(now, tag("retired")) {
		t.Errorf("now the page lacks %s", tag("retired"))
	}
	if !strings.Contains(past, tag("candidate")) || strings.Contains(past, tag("retired")) {
		t.Errorf("at %s the page lacks %s or shows the later value", then, tag("candidate"))
	}
	// Before the resource existed there is nothing to show.
	res, _ := fetch(t, c, "GET", page+"?at="+url.QueryEscape(mv.CreatedAt.Add(-time.Hour).Format(time.RFC3339)), nil)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("before it was created: %d, want 404", res.StatusCode)
	}
}

func TestSearchPaging(t *testing.T) {
	tr, _ := openDemo(t)
	base := serveUI(t, tr)
	c := noRedirect(nil)
	q := "type = 'experiment'"
	all, err := tr.SearchAll(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	next := "/search?n=5&q=" + url.QueryEscape(q)
	var seen []string
	for next != "" && len(seen) <= len(all) {
		_, body := fetch(t, c, "GET", base+next, nil)
		for _, r := range all {
			if strings.Contains(body, `value="`+r.ID+`"`) {
				seen = append(seen, r.ID)
			}
		}
		next = ""
		if i := strings.Index(body, `id="next-page" rel="next"`); i >= 0 {
			j := strings.LastIndex(body[:i], `href="`)
			next = html.UnescapeString(body[j+6 : strings.Index(body[j+6:], `"`)+j+6])
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("paging 5 at a time showed %d resources, want the %d the query matches", len(seen), len(all))
	}
	for i, r := range all {
		if seen[i] != r.ID {
			t.Fatalf("resource %d is %s, want %s", i, seen[i], r.ID)
		}
	}
}
