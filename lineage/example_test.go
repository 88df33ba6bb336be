package lineage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack/lineage"
	"github.com/metatrack/metatrack/lineage/lineagetest"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// walkable returns db, a SQLite file, to walk: with the texts of the walks'
// statements that the SQLite engine writes.
func walkable(db *sqlx.DB) lineage.DB {
	return lineage.DB{Q: db, SQL: &(&sqlite.DB{}).SQL().LineageStatements}
}

// exampleDB returns a database with a small lineage: a dataset version read
// by two model versions, one of which has an experiment and a prediction
// job, and a function to remove it.
func exampleDB() (*sqlx.DB, func()) {
	dir, err := os.MkdirTemp("", "lineage-example-")
	if err != nil {
		panic(err)
	}
	db := sqlx.MustOpen("sqlite", filepath.Join(dir, "example.db")+"?_pragma=foreign_keys(1)")
	schema, err := lineagetest.Schema()
	if err != nil {
		panic(err)
	}
	db.MustExec("BEGIN;\n" + string(schema) + `
INSERT INTO resources (seq, id, type, name, version, parent_seq, status, created_at, updated_at) VALUES
 (1, 'id-1', 'dataset', 'titanic', NULL, NULL, '', 1, 1),
 (2, 'id-2', 'dataset_version', 'titanic', 1, 1, '', 1, 1),
 (3, 'id-3', 'model', 'titanic_model', NULL, NULL, '', 1, 1),
 (4, 'id-4', 'model_version', 'titanic_model', 1, 3, 'DEPLOYED', 1, 1),
 (5, 'id-5', 'model_version', 'titanic_model', 2, 3, 'REGISTERED', 1, 1),
 (6, 'id-6', 'experiment', 'baseline', NULL, 4, 'FINISHED', 1, 1),
 (7, 'id-7', 'prediction_job', 'nightly', NULL, 4, 'RUNNING', 1, 1);
INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES
 (1, 2, 'version', 1), (3, 4, 'version', 1), (3, 5, 'version', 1),
 (2, 4, 'input', 1), (2, 5, 'input', 1),
 (4, 6, 'child', 1), (4, 6, 'winning_experiment', 1), (4, 7, 'child', 1);
COMMIT;`)
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

func ExampleWalk() {
	db, done := exampleDB()
	defer done()
	g, err := lineage.Walk(context.Background(), walkable(db), []int64{2}, lineage.Options{
		Direction: lineage.Downstream,
		MaxDepth:  2,
	})
	if err != nil {
		panic(err)
	}
	for _, n := range g.Nodes {
		fmt.Println(n.Depth, n.Ref())
	}
	fmt.Println(len(g.Edges), "edges")
	// Output:
	// 0 dataset_version/titanic@1
	// 1 model_version/titanic_model@1
	// 1 model_version/titanic_model@2
	// 2 model_version/titanic_model@1/experiment/baseline
	// 2 model_version/titanic_model@1/prediction_job/nightly
	// 5 edges
}

func ExampleWalk_types() {
	db, done := exampleDB()
	defer done()
	// The type filter chooses what is returned, not where the walk goes:
	// the experiment is found through the model version.
	g, err := lineage.Walk(context.Background(), walkable(db), []int64{1}, lineage.Options{
		Direction: lineage.Downstream,
		Types:     []string{"experiment"},
	})
	if err != nil {
		panic(err)
	}
	for _, n := range g.Nodes {
		fmt.Println(n.Depth, n.Ref())
	}
	// Output:
	// 3 model_version/titanic_model@1/experiment/baseline
}

func ExampleShortestPath() {
	db, done := exampleDB()
	defer done()
	p, err := lineage.ShortestPath(context.Background(), walkable(db), 7, 1, lineage.PathOptions{Direction: lineage.Upstream})
	if err != nil {
		panic(err)
	}
	for i, e := range p.Edges {
		fmt.Printf("%s <-%s- %s\n", p.Nodes[i].Ref(), e.Relation, p.Nodes[i+1].Ref())
	}
	_, err = lineage.ShortestPath(context.Background(), walkable(db), 7, 1, lineage.PathOptions{Direction: lineage.Downstream})
	fmt.Println(err)
	// Output:
	// model_version/titanic_model@1/prediction_job/nightly <-child- model_version/titanic_model@1
	// model_version/titanic_model@1 <-input- dataset_version/titanic@1
	// dataset_version/titanic@1 <-version- dataset/titanic
	// no lineage path: from resource seq 7 downstream to 1
}

func ExampleImpact() {
	db, done := exampleDB()
	defer done()
	r, err := lineage.Impact(context.Background(), walkable(db), 1, lineage.Options{})
	if err != nil {
		panic(err)
	}
	for _, d := range r.Deployed {
		fmt.Println("deployed:", d.Ref())
	}
	for _, j := range r.PredictionJobs {
		fmt.Println("prediction job:", j.Ref(), j.Status)
	}
	// Output:
	// deployed: model_version/titanic_model@1
	// prediction job: model_version/titanic_model@1/prediction_job/nightly RUNNING
}

func ExampleGraph_WriteMermaid() {
	g := &lineage.Graph{
		Nodes: []lineage.Node{
			{Seq: 1, ID: "id-1", Type: "dataset_version", Name: `sales "eu"`, Version: 2},
			{Seq: 2, ID: "id-2", Type: "model_version", Name: "forecast", Version: 7, Depth: 1},
		},
		Edges: []lineage.Edge{{Src: 1, Dst: 2, Relation: "input"}},
	}
	if err := g.WriteMermaid(os.Stdout); err != nil {
		panic(err)
	}
	if err := g.WriteDOT(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// flowchart LR
	//     n0["dataset_version/sales #quot;eu#quot;@2"]
	//     n1["model_version/forecast@7"]
	//     n0 -->|"input"| n1
	// digraph lineage {
	// 	rankdir=LR;
	// 	node [shape=box];
	// 	"id-1" [label="dataset_version/sales \"eu\"@2"];
	// 	"id-2" [label="model_version/forecast@7"];
	// 	"id-1" -> "id-2" [label="input"];
	// }
}
