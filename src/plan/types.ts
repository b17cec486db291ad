// The pruning-plan document (protocol/pruneplan.ts) and the plan requests (protocol/plan.ts) live in protocol/, so
// the worker protocol and the webview can name them; the plan code imports them from here.
export * from '../protocol/pruneplan';
export type { ApplyResult, PlanRequest, PlanVerification } from '../protocol/plan';
