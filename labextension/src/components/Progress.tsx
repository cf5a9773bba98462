/**
 * A long action under way (publish, promote, compile, move an alias): what it is doing, a
 * moving bar and the seconds so far, instead of a button that is merely disabled.
 */
import * as React from 'react';

export function Progress(props: {
  doing: string | null;
  since: number | null;
  testId: string;
}): JSX.Element | null {
  const { doing, since, testId } = props;
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    if (!doing) {
      return;
    }
    const timer = window.setInterval(() => setTick(t => t + 1), 1000);
    return () => window.clearInterval(timer);
  }, [doing]);
  if (!doing) {
    return null;
  }
  const seconds = since ? Math.floor((Date.now() - since) / 1000) : 0;
  return (
    <div className="jp-mlops-progress" data-testid={testId} role="status" aria-live="polite">
      <div className="jp-mlops-progress-bar" aria-hidden="true" />
      <span>
        {doing} {seconds > 0 ? `${seconds} s` : ''}
      </span>
    </div>
  );
}
