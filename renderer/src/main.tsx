/** Starts the renderer: picks the transport, creates the store, follows pushes, renders. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api/client.js';
import { App, Locked } from './app.js';
import { bindPushes, createAppStore, StoreContext } from './store/app-store.js';
import type { StoreApi } from 'zustand';
import type { AppStore } from './store/app-store.js';
import './styles/theme.css';
import './styles/layout.css';
import './styles/components.css';

const container = document.getElementById('root');
if (!container) throw new Error('#root is missing from index.html');
const root = createRoot(container);

let store: StoreApi<AppStore> | undefined;
const transport = connect((status) => store?.setState({ link: status }));
if (transport.kind === 'locked') {
  root.render(<Locked />);
} else {
  store = createAppStore(transport.api);
  if (transport.kind === 'electron') store.setState({ link: 'live' });
  bindPushes(store, transport.api);
  root.render(
    <StrictMode>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </StrictMode>,
  );
}
