import * as React from 'react';

/** Re-render when `signal` fires; for Lumino signals that React cannot see. */
export function useSignalTick(
  signal: { connect: (fn: () => void) => boolean; disconnect: (fn: () => void) => boolean } | null
): number {
  const [tick, setTick] = React.useState(0);
  React.useEffect(() => {
    if (signal === null) {
      return;
    }
    const bump = () => setTick(t => t + 1);
    signal.connect(bump);
    return () => {
      signal.disconnect(bump);
    };
  }, [signal]);
  return tick;
}
