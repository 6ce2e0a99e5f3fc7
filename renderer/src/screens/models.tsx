/** Models: what this worker serves, and (later) what it could download. */
import { useEffect } from 'react';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader } from '../ui/card.js';
import { Empty, Show } from '../ui/states.js';
import { formatBytes, shorten } from '../format.js';

/** The Models screen. */
export function ModelsScreen() {
  const models = useApp((s) => s.models);
  const catalog = useApp((s) => s.catalog);
  const load = useApp((s) => s.loadModels);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="page">
      <PageHeader title="Models" subtitle="The models your GPU serves to the network" />
      <Card title="Installed">
        <Show data={models} onRetry={() => void load()} lines={3}>
          {(list) =>
            list.length === 0 ? (
              <Empty title="No model installed" />
            ) : (
              <ul className="list">
                {list.map((model) => (
                  <li key={model.id} style={{ flexDirection: 'column', gap: 8 }}>
                    <div className="row spread" style={{ width: '100%' }}>
                      <strong>{model.id}</strong>
                      <Badge tone={model.loaded ? 'ok' : 'neutral'}>{model.loaded ? 'Loaded' : 'Unloaded while paused'}</Badge>
                    </div>
                    <dl className="kv">
                      <dt>Size</dt>
                      <dd>{formatBytes(model.sizeBytes)}</dd>
                      <dt>File</dt>
                      <dd className="mono">{model.path}</dd>
                      <dt>SHA-256</dt>
                      <dd className="mono" title={model.sha256}>
                        {shorten(model.sha256, 10)}
                      </dd>
                    </dl>
                  </li>
                ))}
              </ul>
            )
          }
        </Show>
      </Card>
      <Card title="Catalog">
        <Show data={catalog} whenUnavailable={(error) => <Empty title="Downloads are not available yet">{error.message}</Empty>}>
          {(list) => (list.length === 0 ? <Empty title="No models offered" /> : <ul className="list">{list.map((item) => <li key={item.id}>{item.id}</li>)}</ul>)}
        </Show>
      </Card>
    </div>
  );
}
