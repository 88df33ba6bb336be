package demo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/demo"
)

func ExampleRun() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "metatrack-demo")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	t, err := metatrack.Open(ctx, filepath.Join(dir, "metatrack.db"), metatrack.WithRunName("demo"),
		metatrack.WithModelLoader(demo.TrainerName, demo.LoadModel))
	if err != nil {
		panic(err)
	}
	sum, runErr := demo.Run(ctx, t, filepath.Join(dir, "work"), nil)
	if err := t.Stop(ctx, runErr); err != nil {
		panic(err)
	}
	for _, r := range sum.Rounds {
		fmt.Printf("%s -> %s: promoted %t, %d experiments, predicted with %s\n",
			r.DatasetVersion.Ref(), r.ModelVersion.Ref(), r.Promoted, r.Experiments, r.PredictedWith.Ref())
	}
	fmt.Println("deployed:", sum.Deployed.Ref())
	fmt.Println("created:", sum.Created)
	// Output:
	// dataset_version/titanic_train@1 -> model_version/titanic_model@1: promoted true, 6 experiments, predicted with model_version/titanic_model@1
	// dataset_version/titanic_train@2 -> model_version/titanic_model@2: promoted true, 6 experiments, predicted with model_version/titanic_model@2
	// dataset_version/titanic_train@3 -> model_version/titanic_model@3: promoted true, 6 experiments, predicted with model_version/titanic_model@3
	// deployed: model_version/titanic_model@3
	// created: map[dataset:1 dataset_version:3 experiment:18 model:1 model_version:3 prediction_job:3 promotion:3]
}
