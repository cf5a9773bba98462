import * as React from 'react';

/**
 * The name of JupyterLab's current theme; changes when the user switches theme, so that
 * charts (which cannot use CSS variables) are drawn again in the new colours.
 */
export function useTheme(): string {
  const read = () => document.body.dataset.jpThemeName ?? '';
  const [theme, setTheme] = React.useState(read);
  React.useEffect(() => {
    const observer = new MutationObserver(() => setTheme(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return theme;
}
