/**
 * Models, as advice: the model that would earn most on this GPU (with what it would earn per
 * hour at the network's prices now), then every model of the network's catalog with the same
 * figures, whether it fits (a labelled bar), one way of writing sizes, downloads (progress,
 * rate, time left, cancel) and "Use this model" with its progress while the switch runs.
 */
import { useEffect } from 'react';
import type { CatalogItemView, DownloadView, HardwareView, InstalledModel, ModelCatalogView, ModelFitView } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader, type Tone } from '../ui/card.js';
import { Empty, ErrorNote, Show } from '../ui/states.js';
import { formatBytes, formatBytesOf, formatDuration, formatInteger, shorten } from '../format.js';
import { Money } from '../ui/money.js';

const FIT_TONE: Record<ModelFitView['verdict'], Tone> = { 'fits-gpu': 'ok', 'partial-gpu': 'warn', 'cpu-only': 'warn', 'too-big': 'fail', unknown: 'neutral' };
const FIT_LABEL: Record<ModelFitView['verdict'], string> = { 'fits-gpu': 'Fits in your GPU', 'partial-gpu': 'Partly on GPU', 'cpu-only': 'CPU only (slow)', 'too-big': 'Too big for this PC', unknown: 'Fit unknown' };

function hardwareLine(hardware: HardwareView): string {
  const gpu = hardware.vramBytes !== null ? `${hardware.gpuName ?? 'a GPU'} with ${formatBytes(hardware.vramBytes)} of memory` : hardware.engineGpu === 'cpu' ? 'no graphics card in use (models run on the processor)' : 'a graphics card Silkworm cannot read';
  return `Compared with this PC: ${gpu}, and ${formatBytes(hardware.ramBytes)} of system memory`;
}

const FIT_DETAIL: Record<ModelFitView['verdict'], (needs: string) => string> = {
  'fits-gpu': (needs) => `Needs ${needs}`,
  'partial-gpu': (needs) => `Needs ${needs}: the rest runs slower from system memory`,
  'cpu-only': (needs) => `Needs ${needs}`,
  'too-big': (needs) => `Needs ${needs}: more than this PC has`,
  unknown: () => 'Silkworm cannot read this PC’s graphics card, so it cannot tell',
};

/** What a model's needs are measured against: the GPU's memory, else (on CPU) the system memory. */
function capacityOf(hardware: HardwareView): { bytes: number; what: string } | null {
  if (hardware.vramBytes !== null) return { bytes: hardware.vramBytes, what: 'GPU memory' };
  return hardware.engineGpu === 'cpu' ? { bytes: hardware.ramBytes, what: 'system memory' } : null;
}

/** The fit verdict, with a small bar of how much of the GPU's (or, on CPU, the system's) memory it takes. */
function Fit({ fit, hardware, name }: { fit: ModelFitView; hardware: HardwareView; name: string }) {
  const capacity = capacityOf(hardware);
  const share = capacity ? Math.min(1, fit.needsBytes / capacity.bytes) : null;
  const tone = FIT_TONE[fit.verdict];
  const needs = capacity ? `~${formatBytesOf(fit.needsBytes, capacity.bytes)} of ${capacity.what}` : `~${formatBytes(fit.needsBytes)}`;
  const percent = share === null ? null : Math.max(1, Math.round(share * 100));
  return (
    <div className="fit">
      <div className="row tight">
        <Badge tone={tone}>{FIT_LABEL[fit.verdict]}</Badge>
        <span className="muted" data-testid="fit-summary">
          {FIT_DETAIL[fit.verdict](needs)}
          {fit.exact ? '' : ' (a rough estimate: the file’s header could not be read)'}
        </span>
      </div>
      {share !== null && capacity && percent !== null ? (
        <div className="meter-row">
          <span className="meter-label" id={`fit-${name}`}>
            {capacity.what === 'GPU memory' ? 'GPU memory it takes' : 'System memory it takes'}
          </span>
          <div className={`meter tone-${tone}`} role="meter" aria-labelledby={`fit-${name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent}% (${needs})`}>
            <div style={{ width: `${percent}%` }} />
          </div>
          <span className="meter-value">{percent}%</span>
        </div>
      ) : null}
    </div>
  );
}

/** What serving a model would earn on this PC, per hour at full load, at the network's prices now. */
function Estimate({ item }: { item: CatalogItemView }) {
  if (!item.estimate) return <span className="muted">Earnings per hour: not known yet{item.fit.verdict === 'too-big' ? ' (it does not fit)' : ''}.</span>;
  return (
    <span data-testid="estimate">
      About <Money nanotons={item.estimate.nanotonsPerHour} suffix=" per hour" /> at full load · ~{formatInteger(item.estimate.tokensPerSecond)} tokens/s
    </span>
  );
}

/** An accessible progress bar with bytes, rate, time left and Cancel. */
function Progress({ name, download }: { name: string; download: DownloadView }) {
  const cancel = useApp((s) => s.cancelDownload);
  const percent = download.totalBytes > 0 ? Math.floor((download.receivedBytes / download.totalBytes) * 100) : 0;
  const rate = download.bytesPerSecond !== null ? `${formatBytes(download.bytesPerSecond)}/s` : 'measuring speed…';
  const eta = download.etaSeconds !== null ? `${formatDuration(download.etaSeconds * 1000)} left` : null;
  return (
    <div style={{ display: 'grid', gap: 6 }}>
      <div
        role="progressbar"
        aria-label={`Downloading ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}% (${formatBytes(download.receivedBytes)} of ${formatBytes(download.totalBytes)})`}
        style={{ height: 10, borderRadius: 5, background: 'var(--surface-2)', border: '1px solid var(--border)', overflow: 'hidden' }}
      >
        <div style={{ width: `${percent}%`, height: '100%', background: 'var(--accent)', transition: 'width 0.2s' }} />
      </div>
      <div className="row spread">
        <span className="muted" aria-live="polite">
          {download.state === 'verifying' ? 'Checking the file (sha256)…' : `${formatBytes(download.receivedBytes)} of ${formatBytes(download.totalBytes)} · ${rate}${eta ? ` · ${eta}` : ''}`}
        </span>
        <button type="button" className="button" onClick={() => void cancel(download.id)} disabled={download.state === 'verifying'}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** What can be done with a catalog model now. */
function Actions({ item, download }: { item: CatalogItemView; download: DownloadView | null }) {
  const start = useApp((s) => s.downloadModel);
  const use = useApp((s) => s.useModel);
  const remove = useApp((s) => s.removeModel);
  const switchingTo = useApp((s) => s.switchingTo);
  const serverSwitch = useApp((s) => s.modelCatalog.value?.switching ?? null);
  if (item.active) return <span className="muted">This PC serves it now.</span>;
  if (download && (download.state === 'downloading' || download.state === 'verifying')) return <Progress name={item.name} download={download} />;
  if (switchingTo === item.id || (serverSwitch?.id === item.id && serverSwitch.state !== 'failed')) {
    const phase = serverSwitch?.id === item.id ? serverSwitch : null;
    return (
      <span role="status" className="muted" data-testid="switching">
        <span className="spinner" aria-hidden="true" />{' '}
        {phase?.state === 'waiting-for-jobs'
          ? `Switching: waiting for ${phase.waitingJobs === 1 ? 'the running job' : `${phase.waitingJobs} running jobs`} to end…`
          : 'Switching: loading the model into memory. This takes a few seconds…'}
      </span>
    );
  }
  if (item.installed) {
    return (
      <div className="row">
        <button type="button" className="button primary" disabled={switchingTo !== null} onClick={() => void use(item.id)}>
          Use this model
        </button>
        <button type="button" className="button" disabled={switchingTo !== null} onClick={() => void remove(item.id)}>
          Remove
        </button>
      </div>
    );
  }
  const failed = download?.state === 'failed' ? download.error : null;
  const partial = download?.state === 'cancelled' ? download.receivedBytes : item.partialBytes;
  return (
    <div style={{ display: 'grid', gap: 6 }}>
      {failed ? (
        <span className="field-error" role="alert">
          {failed}
        </span>
      ) : null}
      <div className="row">
        <button type="button" className="button primary" disabled={item.fit.verdict === 'too-big'} onClick={() => void start(item.id)}>
          {partial > 0 ? `Resume download (${formatBytes(partial)} of ${formatBytes(item.sizeBytes)} here)` : failed ? 'Try again' : `Download (${formatBytes(item.sizeBytes)})`}
        </button>
        {partial > 0 ? (
          <button type="button" className="button" onClick={() => void remove(item.id)}>
            Discard
          </button>
        ) : null}
      </div>
      {item.fit.verdict === 'too-big' ? <span className="field-hint">This PC does not have enough memory to serve it.</span> : null}
    </div>
  );
}

function CatalogItem({ item, hardware, recommended }: { item: CatalogItemView; hardware: HardwareView; recommended: boolean }) {
  const pushed = useApp((s) => s.downloads[item.id] ?? null);
  // A finished download is verified and in place: installed, even before the catalog reloads.
  const current = pushed?.state === 'done' && !item.installed ? { ...item, installed: true } : item;
  // The push is newer than the catalog's snapshot unless the model is installed since.
  const download = current.installed ? null : (pushed ?? item.download);
  return (
    <li style={{ flexDirection: 'column', alignItems: 'stretch', gap: 10 }} data-testid={`catalog-${item.id}`} aria-label={item.name}>
      <div className="row spread">
        <strong>{item.name}</strong>
        <span className="row tight">
          {recommended ? <Badge tone="ok">Recommended for this PC</Badge> : null}
          {current.active ? <Badge tone="ok">Serving</Badge> : current.installed ? <Badge tone="info">Downloaded</Badge> : null}
        </span>
      </div>
      {item.description ? <span className="muted">{item.description}</span> : null}
      <Estimate item={item} />
      <dl className="kv">
        <dt>Model id</dt>
        <dd className="mono">{item.id}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(item.sizeBytes)}</dd>
        <dt>Quantization</dt>
        <dd>{item.quantization}</dd>
        <dt>Parameters</dt>
        <dd>{item.parameters ?? <span className="unknown">unknown</span>}</dd>
        <dt>Context</dt>
        <dd>{formatInteger(item.contextLength)} tokens</dd>
        {item.license ? (
          <>
            <dt>License</dt>
            <dd>{item.license}</dd>
          </>
        ) : null}
      </dl>
      <Fit fit={item.fit} hardware={hardware} name={item.id} />
      <Actions item={current} download={download} />
    </li>
  );
}

function Installed({ list }: { list: InstalledModel[] }) {
  if (list.length === 0) return <Empty title="No model installed" />;
  return (
    <ul className="list">
      {list.map((model, index) => (
        <li key={model.path} style={{ flexDirection: 'column', gap: 8 }}>
          <div className="row spread" style={{ width: '100%' }}>
            <strong>{model.id}</strong>
            {index === 0 ? <Badge tone={model.loaded ? 'ok' : 'neutral'}>{model.loaded ? 'Serving' : 'Unloaded while paused'}</Badge> : <Badge>Not in use</Badge>}
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
  );
}

/** The advice: the model that would earn most here, and what it takes to serve it. */
function Recommendation({ catalog }: { catalog: ModelCatalogView }) {
  const item = catalog.models.find((model) => model.id === catalog.recommendedId);
  if (!item?.estimate) return null;
  return (
    <Card title="Recommended for this PC" className="recommendation">
      <p data-testid="recommendation">
        <strong>{item.name}</strong> would earn about <Money nanotons={item.estimate.nanotonsPerHour} suffix=" per hour" /> here while the network keeps it busy, at today’s prices
        {item.active ? ' — and it is the model this PC serves now.' : '.'}
      </p>
      <p className="stat-hint">Estimated from the speed this PC measured for the model it serves and the prices the network publishes; real earnings depend on how many jobs arrive.</p>
    </Card>
  );
}

/** While a switch runs, reads its progress every second (the switch itself answers only once it is done). */
function useSwitchProgress() {
  const switchingTo = useApp((s) => s.switchingTo);
  const refresh = useApp((s) => s.refreshCatalog);
  useEffect(() => {
    if (!switchingTo) return;
    const timer = setInterval(() => void refresh(), 1000);
    return () => clearInterval(timer);
  }, [switchingTo, refresh]);
}

/** The Models screen. */
export function ModelsScreen() {
  const catalog = useApp((s) => s.modelCatalog);
  const installed = useApp((s) => s.models);
  const error = useApp((s) => s.modelsError);
  const load = useApp((s) => s.loadModelCatalog);
  useEffect(() => {
    void load();
  }, [load]);
  useSwitchProgress();
  return (
    <div className="page">
      <PageHeader title="Models" subtitle="What your GPU serves, and which model would earn most on it" />
      {error ? <ErrorNote error={error} /> : null}
      {catalog.value ? <Recommendation catalog={catalog.value} /> : null}
      <Card title="Installed">
        <Show data={installed} onRetry={() => void load()} lines={3}>
          {(list) => <Installed list={list} />}
        </Show>
      </Card>
      <Card title="Catalog" actions={catalog.value ? <span className="muted">{hardwareLine(catalog.value.hardware)}</span> : null}>
        <Show data={catalog} onRetry={() => void load()} lines={4}>
          {(value) =>
            value.models.length === 0 ? (
              <Empty title="No models offered">The coordinator at {value.coordinator} publishes no catalog yet.</Empty>
            ) : (
              <ul className="list">
                {value.models.map((item) => (
                  <CatalogItem key={item.id} item={item} hardware={value.hardware} recommended={item.id === value.recommendedId} />
                ))}
              </ul>
            )
          }
        </Show>
      </Card>
    </div>
  );
}
