/**
 * The app frame: sidebar navigation, the open screen, the theme control, and the worker's
 * presence. The Dashboard is in the first load; every other screen (and the charts) loads on
 * first use (docs/design.md, UI build). When the worker cannot be reached, every live value is
 * replaced by one plain "Silkworm isn't running" state until it is back.
 */
import { lazy, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { useApp } from './store/app-store.js';
import { hasUnsavedChanges } from './store/settings-slice.js';
import { SCREENS, type Screen, type ThemeChoice } from './store/shell-slice.js';
import { BrandMark, ICONS, THEME_ICONS } from './ui/icons.js';
import { Loading } from './ui/states.js';
import { DashboardScreen } from './screens/dashboard.js';

const EarningsScreen = lazy(() => import('./screens/earnings.js').then((module) => ({ default: module.EarningsScreen })));
const WalletScreen = lazy(() => import('./screens/wallet.js').then((module) => ({ default: module.WalletScreen })));
const ModelsScreen = lazy(() => import('./screens/models.js').then((module) => ({ default: module.ModelsScreen })));
const SettingsScreen = lazy(() => import('./screens/settings.js').then((module) => ({ default: module.SettingsScreen })));
const DiagnosticsScreen = lazy(() => import('./screens/diagnostics.js').then((module) => ({ default: module.DiagnosticsScreen })));
const SetupScreen = lazy(() => import('./screens/setup.js').then((module) => ({ default: module.SetupScreen })));

const TITLES: Record<Screen, string> = { dashboard: 'Dashboard', earnings: 'Earnings', wallet: 'Wallet', models: 'Models', settings: 'Settings', diagnostics: 'Diagnostics' };

const VIEWS: Record<Screen, () => ReactNode> = {
  dashboard: () => <DashboardScreen />,
  earnings: () => <EarningsScreen />,
  wallet: () => <WalletScreen />,
  models: () => <ModelsScreen />,
  settings: () => <SettingsScreen />,
  diagnostics: () => <DiagnosticsScreen />,
};

function ThemeControl() {
  const theme = useApp((s) => s.theme);
  const setTheme = useApp((s) => s.setTheme);
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
  return (
    <div className="segmented" role="radiogroup" aria-label="Theme">
      {(['system', 'light', 'dark'] as ThemeChoice[]).map((choice) => (
        <button key={choice} type="button" role="radio" aria-checked={theme === choice} aria-label={`${choice[0]?.toUpperCase()}${choice.slice(1)} theme`} title={`${choice} theme`} onClick={() => setTheme(choice)}>
          {THEME_ICONS[choice]}
        </button>
      ))}
    </div>
  );
}

/** Shown instead of every live value while the worker cannot be reached. */
function NotRunning() {
  return (
    <div className="page">
      <section className="card not-running" role="alert" aria-labelledby="not-running-title" data-testid="not-running">
        <h1 id="not-running-title">Silkworm isn’t running</h1>
        <p>Nothing is being shared and nothing shown here is current. Start Silkworm again on this PC; this page reconnects by itself.</p>
        <p className="muted">
          <span className="spinner" aria-hidden="true" /> Waiting for Silkworm…
        </p>
      </section>
    </div>
  );
}

/** Reloads what the screens show once the worker is back, and warns before closing with unsaved edits. */
function useLinkEffects() {
  const link = useApp((s) => s.link);
  const dirty = useApp((s) => hasUnsavedChanges(s.drafts));
  const loadState = useApp((s) => s.loadState);
  const loadSettings = useApp((s) => s.loadSettings);
  const previous = useRef(link);
  useEffect(() => {
    if (previous.current === 'lost' && link === 'live') {
      void loadState();
      void loadSettings();
    }
    previous.current = link;
  }, [link, loadState, loadSettings]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);
}

/** The whole app. */
export function App() {
  const screen = useApp((s) => s.screen);
  const go = useApp((s) => s.go);
  const link = useApp((s) => s.link);
  const info = useApp((s) => s.info.value);
  const loadInfo = useApp((s) => s.loadInfo);
  const settings = useApp((s) => s.settings.value);
  const loadSettings = useApp((s) => s.loadSettings);
  const unsaved = useApp((s) => hasUnsavedChanges(s.drafts));
  useLinkEffects();
  useEffect(() => {
    void loadInfo();
    void loadSettings();
  }, [loadInfo, loadSettings]);
  useEffect(() => {
    document.title = `${TITLES[screen]} · Silkworm`;
  }, [screen]);
  const away = link === 'lost';
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark">
            <BrandMark />
          </span>
          Silkworm
        </div>
        {SCREENS.map((item) => (
          <button key={item} type="button" className="nav-item" aria-current={screen === item ? 'page' : undefined} onClick={() => go(item)}>
            {ICONS[item]}
            {TITLES[item]}
            {item === 'settings' && unsaved ? (
              <span className="nav-dot" title="Unsaved changes">
                <span className="sr-only"> (unsaved changes)</span>
              </span>
            ) : null}
          </button>
        ))}
        <div className="sidebar-footer">
          <ThemeControl />
          {info ? (
            <span>
              v{info.version} · {info.network === 'mainnet' ? 'Mainnet' : 'Testnet'}
              {info.shell === 'dashboard' ? ' · in a browser' : ''}
            </span>
          ) : null}
        </div>
      </nav>
      <main className="main">
        {link === 'unauthorized' ? (
          <div className="banner" role="alert">
            This page’s access link was refused. Open the link Silkworm printed when it started.
          </div>
        ) : null}
        {away ? (
          <NotRunning />
        ) : (
          <Suspense fallback={<Loading lines={4} />}>{settings?.setupPending ? <SetupScreen view={settings} /> : VIEWS[screen]()}</Suspense>
        )}
      </main>
    </div>
  );
}

/** Shown when the dashboard is opened without its token. */
export function Locked() {
  return (
    <main className="card locked">
      <h1>Open the dashboard link</h1>
      <p className="muted">This page is protected by an access link. Open the full link Silkworm printed when it started — it ends in <code>#token=…</code>.</p>
    </main>
  );
}
