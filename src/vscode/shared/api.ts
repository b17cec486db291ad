// What activate() returns: other extensions, scripts and the in-host tests run analyses through the same paths as
// the panels and commands, and can see what the commands put on screen.
import type { AnalysisServiceApi } from './analysisService';
import type { layersOnText } from '../model/layersOnText';
import type { SaliencyApi } from '../saliency/saliency';

export interface ImportanceLensApi extends AnalysisServiceApi, SaliencyApi {
  /** Layer importance on the sample text (importanceLens.sampleTextFile) and perplexity, as the panel runs them. */
  layersOnText: typeof layersOnText;
}
