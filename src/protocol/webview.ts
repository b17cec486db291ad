// Messages between the extension host and the webview. Each panel has its own protocol (panels/*.ts); the one
// webview bundle renders any panel, so it takes the union of what hosts send, and a host session accepts only its
// own panel's messages (src/vscode/shared/sessionJob.ts, onWebviewMessage).
import type { DatasetPanelFromView, DatasetPanelToView } from './panels/dataset';
import type { DeltaPanelFromView, DeltaPanelToView } from './panels/delta';
import type { ModelPanelFromView, ModelPanelToView } from './panels/model';
import type { PlanPanelFromView, PlanPanelToView } from './panels/plan';
import type { SaliencyPanelFromView, SaliencyPanelToView } from './panels/saliency';

export type { LayerMetricName, TextLayersResult } from './panels/model';

export type HostToWebview = ModelPanelToView | DeltaPanelToView | SaliencyPanelToView | DatasetPanelToView | PlanPanelToView;

export type WebviewToHost = ModelPanelFromView | DeltaPanelFromView | SaliencyPanelFromView | DatasetPanelFromView | PlanPanelFromView;
