import * as React from 'react';

import { MlopsModel } from '../model';

/** `model`, re-rendering the component whenever it changes (another notebook, a run ended). */
export function useModel(model: MlopsModel): MlopsModel {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setTick(t => t + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
  return model;
}
