/** The app frame: sidebar navigation, the open screen, the theme control, the link banner. */
import { useEffect, type ReactNode } from 'react';
import { useApp } from './store/app-store.js';
import { SCREENS, type Screen, type ThemeChoice } from './store/shell-slice.js';
import { BrandMark, ICONS, THEME_ICONS } from './ui/icons.js';
import { DashboardScreen } from './screens/dashboard.js';
import { EarningsScreen } from './screens/earnings.js';
import { WalletScreen } from './screens/wallet.js';
import { ModelsScreen } from './screens/models.js';
import { SettingsScreen } from './screens/settings.js';
import { DiagnosticsScreen } from './screens/diagnostics.js';
import { SetupScreen } from './screens/setup.js';

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

function LinkBanner() {
  const link = useApp((s) => s.link);
  if (link === 'lost') return <div className="banner" role="status">Lost the connection to the worker — reconnecting…</div>;
  if (link === 'unauthorized') return <div className="banner" role="alert">The dashboard token was refused. Open the link the worker printed when it started.</div>;
  return null;
}

/** The whole app. */
export function App() {
  const screen = useApp((s) => s.screen);
  const go = useApp((s) => s.go);
  const info = useApp((s) => s.info.value);
  const loadInfo = useApp((s) => s.loadInfo);
  const settings = useApp((s) => s.settings.value);
  const loadSettings = useApp((s) => s.loadSettings);
  useEffect(() => {
    void loadInfo();
    void loadSettings();
  }, [loadInfo, loadSettings]);
  useEffect(() => {
    document.title = `${TITLES[screen]} · Silkworm`;
  }, [screen]);
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
          </button>
        ))}
        <div className="sidebar-footer">
          <ThemeControl />
          {info ? (
            <span>
              v{info.version} · {info.network === 'mainnet' ? 'Mainnet' : 'Testnet'}
              {info.shell === 'dashboard' ? ' · headless' : ''}
            </span>
          ) : null}
        </div>
      </nav>
      <main className="main">
        <LinkBanner />
        {settings?.setupPending ? <SetupScreen view={settings} /> : VIEWS[screen]()}
      </main>
    </div>
  );
}

/** Shown when the dashboard is opened without its token. */
export function Locked() {
  return (
    <main className="card locked">
      <h1>Open the dashboard link</h1>
      <p className="muted">This dashboard is protected by a token. Open the full link that <code>silkworm worker</code> printed when it started — it ends in <code>#token=…</code>.</p>
    </main>
  );
}
