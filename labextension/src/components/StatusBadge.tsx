/**
 * A status as a word with a coloured mark: the mark takes the status's theme colour, the word
 * the theme's text colour, so it reads in both themes (no coloured text on a coloured pill).
 */
import * as React from 'react';

export function StatusBadge(props: { status: string; testId?: string }): JSX.Element {
  const status = (props.status || '').toLowerCase();
  return (
    <span
      className={`jp-mlops-badge jp-mlops-status-${status}`}
      data-testid={props.testId}
      data-status={status}
    >
      {status}
    </span>
  );
}
