"""The supervisor's specialists: CostAnalyst, InfraExpert, LogsAnalyst, and the general answerer."""
