/**
 * A table that may be wider than the view, in a box that scrolls sideways. The box is a named
 * region reached with the Tab key, so the arrow keys scroll it without a mouse (a box with a
 * long profile of 30 columns is otherwise out of a keyboard user's reach).
 */
import * as React from 'react';

export function ScrollBox(props: {
  label: string;
  className?: string;
  testId?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div
      className={`jp-mlops-scroll${props.className ? ` ${props.className}` : ''}`}
      role="region"
      aria-label={props.label}
      tabIndex={0}
      data-testid={props.testId}
    >
      {props.children}
    </div>
  );
}
