-- A deployment of an experiment.
-- want: deploys a experiment
INSERT INTO deployments (id, model_seq, model_version_seq, environment, deployed_at)
    SELECT '01930000-0000-7000-8000-0000000000a2', m.seq, e.seq, 'default', 1
    FROM resources m, resources e WHERE m.type = 'model' AND e.type = 'experiment';
