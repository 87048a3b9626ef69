import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import { property, state } from "lit/decorators.js";
import {
  OPTIONS_URL,
  absoluteTime,
  errorText,
  fire,
  relativeTime,
  type Api,
  type DetectorInfo,
  type Info,
  type TrainAllResponse,
} from "./api";
import { shared } from "./styles";
import { define, haLink } from "./ui";

/** The Detectors tab: each detector's health and training, Frigate, "Train all". */
export class DtDetectors extends LitElement {
  @property({ attribute: false }) api!: Api;
  @property({ attribute: false }) info!: Info;
  @property({ type: Boolean }) narrow = false;

  @state() private busy = false;
  @state() private result: TrainAllResponse | null = null;
  @state() private error = "";

  private async trainAll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = "";
    this.result = null;
    try {
      this.result = await this.api.trainAll();
    } catch (err) {
      this.error = errorText(err);
    } finally {
      this.busy = false;
      fire(this, "dt-changed");
    }
  }

  protected render(): TemplateResult {
    const info = this.info;
    return html`
      <div class="toolbar">
        <span class="secondary">
          Frigate:
          <span data-testid="frigate-status">
            ${info.frigate
              ? info.frigate_available
                ? html`<span class="badge ok">connected</span>`
                : html`<span class="badge failing">unavailable</span>`
              : html`<span class="badge">not configured</span>`}
          </span>
        </span>
        <span class="spacer"></span>
        <button
          class="btn primary"
          data-testid="train-all"
          ?disabled=${this.busy || !info.detectors.length}
          title="Send every detector the training images it has not learnt yet"
          @click=${() => this.trainAll()}
        >
          ${this.busy ? "Training…" : "Train all"}
        </button>
      </div>
      ${this.renderResult()}
      ${this.error ? html`<p class="error" data-testid="train-all-error">${this.error}</p>` : nothing}
      ${info.detectors.length
        ? html`<div class="detectors">${info.detectors.map((detector) => this.renderDetector(detector))}</div>`
        : html`<div class="empty" data-testid="empty-no-detector">
            <h2>No detector yet</h2>
            <p>
              A detector recognizes the faces. Open ${haLink(OPTIONS_URL, "Double Take's settings")} and
              choose <i>Add detector</i>: the built-in <i>Local</i> detector needs no server; CompreFace,
              DeepStack, CodeProject.AI and Facebox servers work too.
            </p>
          </div>`}
    `;
  }

  private renderResult(): TemplateResult | typeof nothing {
    const result = this.result;
    if (!result) return nothing;
    const count = (key: "trained" | "skipped" | "failed") =>
      result.results.reduce((total, report) => total + report[key].length, 0);
    return html`<div class="message" data-testid="train-all-result">
      ${result.results.length || result.failed.length
        ? html`${result.results.length} ${result.results.length === 1 ? "person" : "people"} trained:
            ${count("trained")} new images learnt, ${count("skipped")} already known, ${count("failed")} failed.`
        : "Nothing to train: no person has training images."}
      ${result.failed.length
        ? html`<ul>
            ${result.failed.map((failure) => html`<li class="error">${failure.name}: ${failure.error}</li>`)}
          </ul>`
        : nothing}
    </div>`;
  }

  private renderDetector(detector: DetectorInfo): TemplateResult {
    const language = this.api.hass.locale?.language ?? this.api.hass.language;
    const status =
      detector.status === "failing"
        ? html`<span class="badge failing">failing</span>
            <span class="secondary small" title=${absoluteTime(detector.failing_since, language)}>
              since ${relativeTime(detector.failing_since, language)}</span
            >`
        : detector.checked
          ? html`<span class="badge ok">connected</span>`
          : html`<span class="badge">not checked yet</span>`;
    return html`<div class="detector card" data-testid="detector-card" data-name=${detector.name} data-status=${detector.status}>
      <div class="head">
        <div>
          <div class="name">${detector.name}</div>
          <div class="secondary small">${detector.kind}</div>
        </div>
        <div class="status" data-testid="detector-status">${status}</div>
      </div>
      ${detector.last_error ? html`<p class="error small" data-testid="detector-error">${detector.last_error}</p>` : nothing}
      <dl>
        <dt>Cameras</dt>
        <dd>${detector.cameras.length ? detector.cameras.join(", ") : "all"}</dd>
        <dt>Trained on</dt>
        <dd data-testid="detector-trained">
          ${detector.trained.length
            ? html`${detector.trained.join(", ")}
                <span class="secondary">(${detector.trained_images} image${detector.trained_images === 1 ? "" : "s"})</span>`
            : html`<span class="secondary">nobody yet</span>`}
        </dd>
        ${detector.last_activity
          ? html`<dt>Last used</dt>
              <dd title=${absoluteTime(detector.last_activity, language)}>
                ${relativeTime(detector.last_activity, language)}
              </dd>`
          : nothing}
      </dl>
    </div>`;
  }

  static styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .small {
        font-size: 0.85em;
      }
      .detectors {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
      }
      .detector {
        padding: 14px 16px;
        min-width: 0;
      }
      .head {
        display: flex;
        justify-content: space-between;
        align-items: flex-start;
        gap: 8px;
      }
      .name {
        font-weight: 500;
        font-size: 1.1em;
        overflow-wrap: anywhere;
      }
      .status {
        text-align: right;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 4px 12px;
        margin: 12px 0 0;
      }
      dt {
        color: var(--dt-secondary);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .message {
        padding: 8px 12px;
        margin-bottom: 12px;
        border-left: 4px solid var(--dt-primary);
        background: var(--dt-card);
        border-radius: 4px;
      }
      .message ul {
        margin: 6px 0 0;
      }
      @media (max-width: 600px) {
        .detectors {
          grid-template-columns: 1fr;
        }
      }
    `,
  ];
}

define("dt-detectors", DtDetectors);
