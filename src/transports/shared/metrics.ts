/** orgway_operation_duration_seconds as the edges record it (the composition root owns the registry). */
export interface OperationMetrics {
  readonly operationDuration: { observe(labels: { transport: string; operation: string; outcome: string }, seconds: number): void };
}
