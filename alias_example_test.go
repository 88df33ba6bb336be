package metatrack_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/metatrack/metatrack"
)

// Aliases name a model version by its role: the deploy pipeline loads
// @champion instead of a number, and promoting another version moves the
// alias.
func ExampleTracker_SetAlias() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	var mvs []metatrack.Resource
	for range 3 {
		mv, err := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		if err != nil {
			log.Fatal(err)
		}
		mvs = append(mvs, mv)
	}
	if _, err := t.SetAlias(ctx, mvs[1], "champion"); err != nil {
		log.Fatal(err)
	}
	champion, _ := t.GetResource(ctx, "model_version/titanic_model@champion", "")
	fmt.Println("champion:", champion.Ref())

	// A better version arrives: move the alias; the model's history keeps both.
	if _, err := t.SetAlias(ctx, mvs[2], "champion"); err != nil {
		log.Fatal(err)
	}
	champion, _ = t.GetResource(ctx, "model_version/titanic_model@champion", "")
	fmt.Println("champion:", champion.Ref())
	found, _ := t.SearchAll(ctx, "alias = 'champion'")
	fmt.Println("alias = 'champion':", found[0].Ref())

	history, _ := t.History(ctx, metatrack.Resource{ID: "model/titanic_model"})
	for _, c := range history {
		if c.Kind == metatrack.ChangeAlias {
			fmt.Printf("%s %s: %v -> %v\n", c.Kind, c.Key, version(c.Old), version(c.New))
		}
	}

	_, err := t.SetAlias(ctx, mvs[0], "2")
	fmt.Println(errors.Is(err, metatrack.ErrInvalidArgument), err)
	// Output:
	// champion: model_version/titanic_model@2
	// champion: model_version/titanic_model@3
	// alias = 'champion': model_version/titanic_model@3
	// alias champion: - -> @2
	// alias champion: @2 -> @3
	// true invalid argument: alias name "2" is a number, which references read as a version
}

// version formats the value of an alias change.
func version(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("@%v", m["version"])
}

// Deleting a model version hides it, with its experiments, from every
// lookup, search and lineage walk; restoring brings it back. Its number is
// never handed out again.
func ExampleTracker_DeleteResource() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	mv1, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	mv2, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if _, err := t.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv2.ID)); err != nil {
		log.Fatal(err)
	}

	deleted, err := t.DeleteResource(ctx, mv2)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range deleted {
		fmt.Println("deleted", r.Ref())
	}
	latest, _ := t.GetResource(ctx, "model_version/titanic_model", "")
	fmt.Println("latest:", latest.Ref())
	_, err = t.GetResource(ctx, mv2.ID, "")
	fmt.Println(errors.Is(err, metatrack.ErrNotFound), errors.Is(err, metatrack.ErrDeleted))
	mv3, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	fmt.Println("next:", mv3.Ref())

	if _, err := t.RestoreResource(ctx, mv2); err != nil {
		log.Fatal(err)
	}
	all, _ := t.SearchAll(ctx, "type = 'model_version' OR type = 'experiment'")
	for _, r := range all {
		fmt.Println("live", r.Ref())
	}

	// A deployed version cannot be deleted.
	if _, err := t.Deploy(ctx, mv1); err != nil {
		log.Fatal(err)
	}
	_, err = t.DeleteResource(ctx, mv1)
	fmt.Println(errors.Is(err, metatrack.ErrConflict), err)
	// Output:
	// deleted model_version/titanic_model@2
	// deleted model_version/titanic_model@2/experiment/trial-1
	// latest: model_version/titanic_model@1
	// true true
	// next: model_version/titanic_model@3
	// live model_version/titanic_model@1
	// live model_version/titanic_model@2
	// live model_version/titanic_model@2/experiment/trial-1
	// live model_version/titanic_model@3
	// true conflict: model_version/titanic_model@1 is deployed in default: undeploy it before deleting it
}
