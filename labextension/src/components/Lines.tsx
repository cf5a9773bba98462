/** One-line messages: an error, a note (the outcome of an action), a neutral outcome. */
import * as React from 'react';

function Line(props: {
  kind: 'error' | 'note' | 'neutral';
  text: React.ReactNode;
  testId?: string;
}): JSX.Element | null {
  if (!props.text) {
    return null;
  }
  return (
    <div
      className={`jp-mlops-${props.kind}`}
      data-testid={props.testId}
      role={props.kind === 'error' ? 'alert' : 'status'}
    >
      {props.text}
    </div>
  );
}

/** An error line, or nothing while there is no error. */
export function ErrorLine(props: { error: React.ReactNode; testId?: string }): JSX.Element | null {
  return <Line kind="error" text={props.error} testId={props.testId} />;
}

/** A note line (the outcome of an action), or nothing while there is none. */
export function NoteLine(props: { note: React.ReactNode; testId?: string }): JSX.Element | null {
  return <Line kind="note" text={props.note} testId={props.testId} />;
}
