/** Diagnostics: the hardware doctor, live logs, and a redacted report to copy into a bug report. */
import type { DoctorCheck } from '../../../main/ipc/contract.js';
import { useEffect, useRef, useState } from 'react';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader } from '../ui/card.js';
import { Empty, ErrorNote, Show } from '../ui/states.js';
import { formatBytes } from '../format.js';

const STATUS_TEXT: Record<DoctorCheck['status'], string> = { ok: 'OK', warn: 'Check', fail: 'Problem', info: 'Info' };

function Doctor() {
  const doctor = useApp((s) => s.doctor);
  const load = useApp((s) => s.loadDoctor);
  return (
    <Card
      title="Hardware doctor"
      actions={
        <button type="button" className="button" onClick={() => void load()} disabled={doctor.status === 'loading'}>
          {doctor.status === 'loading' ? 'Checking…' : 'Check again'}
        </button>
      }
    >
      <Show data={doctor} onRetry={() => void load()} lines={6}>
        {(report) => (
          <>
            <dl className="kv">
              <dt>System</dt>
              <dd>
                {report.system.os} · {report.system.arch}
              </dd>
              <dt>Processor</dt>
              <dd>
                {report.system.cpu} · {report.system.cores} cores
              </dd>
              <dt>Memory</dt>
              <dd>{formatBytes(report.system.memoryTotalBytes)}</dd>
              <dt>Versions</dt>
              <dd>
                Silkworm {report.runtime.app} · Node {report.runtime.node}
                {report.runtime.electron ? ` · Electron ${report.runtime.electron}` : ''}
              </dd>
            </dl>
            <ul className="list" aria-label="Checks">
              {report.checks.map((check) => (
                <li key={check.id}>
                  <span style={{ width: 72, flex: 'none' }}>
                    <Badge tone={check.status === 'info' ? 'neutral' : check.status}>{STATUS_TEXT[check.status]}</Badge>
                  </span>
                  <span>
                    <strong>{check.label}</strong>
                    <span className="muted" style={{ display: 'block' }}>
                      {check.detail}
                    </span>
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
      </Show>
    </Card>
  );
}

function Logs() {
  const logs = useApp((s) => s.logs);
  const status = useApp((s) => s.logsStatus);
  const load = useApp((s) => s.loadLogs);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    box.current?.scrollTo({ top: box.current.scrollHeight });
  }, [logs]);
  return (
    <Card title="Logs" actions={<span className="stat-hint">Prompts, answers and keys are never logged.</span>}>
      {status.error ? <ErrorNote error={status.error} onRetry={() => void load()} /> : null}
      {logs.length === 0 && status.status === 'ready' ? (
        <Empty title="No log lines captured">This worker was started without a log buffer.</Empty>
      ) : (
        <pre className="logs" ref={box} tabIndex={0} aria-label="Recent log lines">
          {logs.map((entry, index) => (
            <div key={index} className={`log-${entry.level}`}>
              {entry.time.slice(11, 19)} {entry.level.padEnd(5)} {entry.msg}
              {entry.fields ? <span className="muted"> {entry.fields}</span> : null}
            </div>
          ))}
        </pre>
      )}
    </Card>
  );
}

function Report() {
  const loadReport = useApp((s) => s.loadReport);
  const report = useApp((s) => s.report);
  const [copied, setCopied] = useState<'idle' | 'copied' | 'shown'>('idle');
  const copy = async () => {
    const text = await loadReport();
    if (text === null) return;
    try {
      await navigator.clipboard.writeText(text);
      setCopied('copied');
    } catch {
      setCopied('shown');
    }
  };
  return (
    <Card title="Report">
      <p className="muted">A text summary of the checks above and recent logs, with addresses, keys and your home folder masked — ready to paste into a bug report.</p>
      <div className="row">
        <button type="button" className="button primary" onClick={() => void copy()} disabled={report.status === 'loading'}>
          Copy report
        </button>
        {copied === 'copied' ? (
          <span role="status" className="muted">
            Copied to the clipboard.
          </span>
        ) : null}
      </div>
      {report.error ? <ErrorNote error={report.error} /> : null}
      {copied === 'shown' && report.value ? (
        <>
          <span className="field-hint">The clipboard is not available here; select the text below instead.</span>
          <textarea className="input mono" readOnly rows={10} value={report.value.text} aria-label="Report text" />
        </>
      ) : null}
    </Card>
  );
}

/** The Diagnostics screen. */
export function DiagnosticsScreen() {
  const loadDoctor = useApp((s) => s.loadDoctor);
  const loadLogs = useApp((s) => s.loadLogs);
  useEffect(() => {
    void loadDoctor();
    void loadLogs();
  }, [loadDoctor, loadLogs]);
  return (
    <div className="page">
      <PageHeader title="Diagnostics" subtitle="What this PC can do, and what the worker has been doing" />
      <Doctor />
      <Report />
      <Logs />
    </div>
  );
}
