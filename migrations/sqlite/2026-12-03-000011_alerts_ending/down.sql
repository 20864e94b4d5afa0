DROP INDEX alerts_ending;
