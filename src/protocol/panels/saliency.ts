// The Token Saliency panel beside an editor: the result (computed by the command, with its own progress), and a
// click on a token that selects it in the editor.
import type { SaliencyResult } from '../results';
import type { ViewReady } from './common';

/** `document` names the editor's document the result belongs to. */
export type SaliencyPanelToView = { type: 'saliencyResult'; result: SaliencyResult; document: string };

export type SaliencyPanelFromView =
  | ViewReady
  /** Show token `index` of the result in its editor; the host checks it against the result. */
  | { type: 'revealToken'; index: number }
  /** Run the shown result over more checkpoints (the host asks which). */
  | { type: 'compareCheckpoints' };
