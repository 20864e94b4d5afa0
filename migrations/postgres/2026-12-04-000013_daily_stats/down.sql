DROP TABLE daily_stats_runs;
