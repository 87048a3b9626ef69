import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { property, state } from "lit/decorators.js";
import {
  absoluteTime,
  errorText,
  fire,
  isImage,
  relativeTime,
  type Api,
  type Info,
  type Person,
  type TrainImage,
  type TrainResponse,
} from "./api";
import { icon, mdi, shared } from "./styles";
import { confirmDialog, define, stop } from "./ui";

function summary(reports: TrainResponse[]): string {
  const count = (key: "trained" | "skipped" | "failed") =>
    reports.reduce((total, report) => total + report[key].length, 0);
  const failed = reports.flatMap((report) => report.failed);
  let text = `Trained: ${count("trained")}, already known: ${count("skipped")}, failed: ${failed.length}`;
  if (failed.length) text += ` (${failed[0].detector}: ${failed[0].error})`;
  return text;
}

/** The People tab: a card per person; a person's training images, upload, removal. */
export class DtPeople extends LitElement {
  @property({ attribute: false }) api!: Api;
  @property({ attribute: false }) info!: Info;
  @property({ type: Boolean }) narrow = false;

  @state() private persons: Person[] | null = null;
  @state() private open: string | null = null;
  @state() private images: TrainImage[] | null = null;
  @state() private error = "";
  @state() private message = "";
  @state() private busy = false;
  @state() private dragging = false;
  @state() private adding = false;
  @state() private newName = "";
  @state() private newFiles: File[] = [];
  @state() private dialogError = "";
  @state() private confirmRemove = false;

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("api")) {
      this.open = null;
      this.loadPersons();
    }
  }

  private async loadPersons(): Promise<void> {
    try {
      this.persons = (await this.api.persons()).persons;
    } catch (err) {
      this.error = errorText(err);
    }
  }

  private async openPerson(name: string): Promise<void> {
    this.open = name;
    this.images = null;
    this.message = "";
    this.error = "";
    await this.loadImages();
  }

  private async loadImages(): Promise<void> {
    const name = this.open;
    if (!name) return;
    try {
      const { images } = await this.api.trainImages(name);
      if (name === this.open) this.images = images;
    } catch (err) {
      this.error = errorText(err);
      this.images = [];
    }
  }

  private async upload(files: File[]): Promise<void> {
    const name = this.open;
    const images = files.filter(isImage);
    if (!name || !images.length || this.busy) return;
    this.busy = true;
    this.error = "";
    this.message = `Uploading ${images.length} image${images.length === 1 ? "" : "s"}…`;
    try {
      this.message = summary(await this.api.upload(name, images));
      fire(this, "dt-changed");
    } catch (err) {
      this.message = "";
      this.error = errorText(err);
    } finally {
      this.busy = false;
      await Promise.all([this.loadImages(), this.loadPersons()]);
    }
  }

  private async deleteImage(file: string): Promise<void> {
    const name = this.open;
    if (!name || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      await this.api.deleteTrainImage(name, file);
      this.message = `Deleted ${file}; the detectors relearnt the other images.`;
      fire(this, "dt-changed");
    } catch (err) {
      this.error = errorText(err);
    } finally {
      this.busy = false;
      await Promise.all([this.loadImages(), this.loadPersons()]);
    }
  }

  private async removePerson(): Promise<void> {
    const name = this.open;
    if (!name || this.busy) return;
    this.busy = true;
    this.dialogError = "";
    try {
      await this.api.removePerson(name);
      this.confirmRemove = false;
      this.open = null;
      this.message = "";
      fire(this, "dt-changed");
      await this.loadPersons();
    } catch (err) {
      this.dialogError = errorText(err);
    } finally {
      this.busy = false;
    }
  }

  private async addPerson(): Promise<void> {
    const name = this.newName.trim();
    const files = this.newFiles.filter(isImage);
    if (!name || !files.length || this.busy) return;
    this.busy = true;
    this.dialogError = "";
    try {
      const reports = await this.api.upload(name, files);
      this.adding = false;
      fire(this, "dt-changed");
      await this.loadPersons();
      await this.openPerson(reports[0]?.name ?? name);
      this.message = summary(reports);
    } catch (err) {
      this.dialogError = errorText(err);
    } finally {
      this.busy = false;
    }
  }

  private dropHandlers(onFiles: (files: File[]) => void) {
    return {
      over: (e: DragEvent) => {
        e.preventDefault();
        this.dragging = true;
      },
      leave: () => (this.dragging = false),
      drop: (e: DragEvent) => {
        e.preventDefault();
        this.dragging = false;
        onFiles([...(e.dataTransfer?.files ?? [])]);
      },
    };
  }

  // -- rendering -------------------------------------------------------------------------

  protected render(): TemplateResult {
    return html`
      ${this.open ? this.renderPerson(this.open) : this.renderList()}
      ${this.adding ? this.renderAdd() : nothing}
      ${this.confirmRemove && this.open
        ? confirmDialog({
            title: `Remove ${this.open}?`,
            text: html`Every detector forgets ${this.open}, and the
              ${this.images?.length ?? ""} training images in <code>train/${this.open}/</code> are
              deleted. Recorded faces stay in the history.`,
            confirm: "Remove",
            busy: this.busy,
            error: this.dialogError,
            onConfirm: () => this.removePerson(),
            onCancel: () => (this.confirmRemove = false),
          })
        : nothing}
    `;
  }

  private renderList(): TemplateResult {
    const language = this.api.hass.locale?.language ?? this.api.hass.language;
    const persons = this.persons;
    return html`
      <div class="toolbar">
        <span class="secondary">${persons ? `${persons.length} ${persons.length === 1 ? "person" : "people"}` : ""}</span>
        <span class="spacer"></span>
        <button
          class="btn primary"
          data-testid="add-person"
          @click=${() => {
            this.adding = true;
            this.newName = "";
            this.newFiles = [];
            this.dialogError = "";
          }}
        >
          ${icon(mdi.plus)} Add person
        </button>
      </div>
      ${this.error ? html`<p class="error" data-testid="people-error">${this.error}</p>` : nothing}
      ${persons === null
        ? html`<p class="secondary center">Loading…</p>`
        : persons.length === 0
          ? html`<div class="empty" data-testid="empty-people">
              <h2>Nobody to recognize yet</h2>
              <p>
                Add a person with 3–10 clear photos of their face, from different days and lighting
                (one face per photo). Or name a face in the Faces tab with <i>This is…</i>.
              </p>
            </div>`
          : html`<div class="people">
              ${persons.map(
                (person) => html`<div
                  class="person card"
                  role="button"
                  tabindex="0"
                  data-testid="person-card"
                  data-name=${person.name}
                  @click=${() => this.openPerson(person.name)}
                  @keydown=${(e: KeyboardEvent) => e.key === "Enter" && this.openPerson(person.name)}
                >
                  <div class="avatar">
                    ${person.face_url
                      ? html`<img src=${person.face_url} alt="" loading="lazy" />`
                      : html`<span>${person.name.slice(0, 1).toUpperCase()}</span>`}
                  </div>
                  <div class="info">
                    <div class="name">${person.name}</div>
                    <div class="secondary small">
                      ${person.train_images} training image${person.train_images === 1 ? "" : "s"}
                      ${person.detectors.length ? html`· ${person.detectors.join(", ")}` : nothing}
                    </div>
                    <div class="secondary small" title=${absoluteTime(person.last_seen?.time, language)}>
                      ${person.last_seen
                        ? `Seen ${relativeTime(person.last_seen.time, language)} · ${person.last_seen.camera}`
                        : "Not seen yet"}
                    </div>
                  </div>
                </div>`,
              )}
            </div>`}
    `;
  }

  private renderPerson(name: string): TemplateResult {
    const drop = this.dropHandlers((files) => this.upload(files));
    const person = this.persons?.find((p) => p.name === name);
    return html`
      <div class="toolbar">
        <button class="icon-btn" title="Back" data-testid="person-back" @click=${() => {
          this.open = null;
          this.error = "";
          this.message = "";
        }}>
          ${icon(mdi.back)}
        </button>
        <h2 class="title" data-testid="person-name">${name}</h2>
        <span class="spacer"></span>
        <button class="btn danger" data-testid="remove-person" ?disabled=${this.busy} @click=${() => {
          this.dialogError = "";
          this.confirmRemove = true;
        }}>
          ${icon(mdi.delete)} Remove person
        </button>
      </div>
      ${person
        ? html`<p class="secondary">
            ${person.detectors.length
              ? `Trained on ${person.detectors.join(", ")}.`
              : "Not trained on any detector yet."}
          </p>`
        : nothing}
      <label
        class="drop ${this.dragging ? "dragging" : ""}"
        data-testid="upload-drop"
        @dragover=${drop.over}
        @dragleave=${drop.leave}
        @drop=${drop.drop}
      >
        <input
          type="file"
          multiple
          accept="image/*"
          data-testid="upload-input"
          ?disabled=${this.busy}
          @change=${(e: Event) => {
            const input = e.target as HTMLInputElement;
            this.upload([...(input.files ?? [])]);
            input.value = "";
          }}
        />
        ${icon(mdi.upload)}
        <span>${this.busy ? "Working…" : html`<b>Add photos</b>: drop them here or click to choose`}</span>
      </label>
      ${this.message ? html`<p class="message" data-testid="upload-result">${this.message}</p>` : nothing}
      ${this.error ? html`<p class="error" data-testid="people-error">${this.error}</p>` : nothing}
      ${this.images === null
        ? html`<p class="secondary center">Loading…</p>`
        : this.images.length === 0
          ? html`<div class="empty" data-testid="empty-train-images">
              <h2>No training images</h2>
              <p>Add 3–10 clear photos of ${name}'s face.</p>
            </div>`
          : html`<div class="grid">
              ${this.images.map(
                (image) => html`<div class="train card" data-testid="train-image" data-file=${image.file}>
                  ${image.url ? html`<img src=${image.url} alt=${image.file} loading="lazy" />` : nothing}
                  <div class="train-meta">
                    <span class="small ${image.trained.length ? "" : "secondary"}">
                      ${image.trained.length ? image.trained.join(", ") : "not trained"}
                    </span>
                    <button
                      class="icon-btn"
                      title="Delete this image"
                      data-testid="delete-train-image"
                      ?disabled=${this.busy}
                      @click=${() => this.deleteImage(image.file)}
                    >
                      ${icon(mdi.delete)}
                    </button>
                  </div>
                </div>`,
              )}
            </div>`}
    `;
  }

  private renderAdd(): TemplateResult {
    const drop = this.dropHandlers((files) => (this.newFiles = [...this.newFiles, ...files.filter(isImage)]));
    const ready = this.newName.trim() && this.newFiles.length && !this.busy;
    return html`<div class="scrim" @click=${() => !this.busy && (this.adding = false)}>
      <div class="dialog" role="dialog" aria-modal="true" data-testid="add-person-dialog" @click=${stop}>
        <h2>Add person</h2>
        <input
          class="full"
          data-testid="new-person-name"
          placeholder="Name"
          autocomplete="off"
          .value=${this.newName}
          @input=${(e: Event) => (this.newName = (e.target as HTMLInputElement).value)}
        />
        <label
          class="drop ${this.dragging ? "dragging" : ""}"
          data-testid="new-person-drop"
          @dragover=${drop.over}
          @dragleave=${drop.leave}
          @drop=${drop.drop}
        >
          <input
            type="file"
            multiple
            accept="image/*"
            data-testid="new-person-files"
            @change=${(e: Event) => {
              const input = e.target as HTMLInputElement;
              this.newFiles = [...this.newFiles, ...[...(input.files ?? [])].filter(isImage)];
              input.value = "";
            }}
          />
          ${icon(mdi.upload)}
          <span>
            ${this.newFiles.length
              ? `${this.newFiles.length} photo${this.newFiles.length === 1 ? "" : "s"} chosen`
              : html`<b>Photos</b>: drop them here or click to choose (3–10 work best)`}
          </span>
        </label>
        ${this.dialogError ? html`<p class="error" data-testid="add-person-error">${this.dialogError}</p>` : nothing}
        <div class="actions">
          <button class="btn" data-testid="new-person-cancel" ?disabled=${this.busy} @click=${() => (this.adding = false)}>
            Cancel
          </button>
          <button class="btn primary" data-testid="new-person-submit" ?disabled=${!ready} @click=${() => this.addPerson()}>
            ${this.busy ? "Training…" : "Add and train"}
          </button>
        </div>
      </div>
    </div>`;
  }

  static styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .title {
        margin: 0;
        font-size: 1.3em;
        font-weight: 500;
        overflow-wrap: anywhere;
      }
      .spacer {
        flex: 1;
      }
      .center {
        text-align: center;
      }
      .small {
        font-size: 0.85em;
      }
      .people {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
      }
      .person {
        display: flex;
        gap: 12px;
        align-items: center;
        padding: 10px;
        cursor: pointer;
        min-width: 0;
      }
      .person:focus-visible {
        outline: 3px solid var(--dt-primary);
      }
      .avatar {
        flex: none;
        width: 64px;
        height: 64px;
        border-radius: 50%;
        overflow: hidden;
        display: flex;
        align-items: center;
        justify-content: center;
        background: var(--dt-primary);
        color: var(--dt-on-primary);
        font-size: 28px;
        font-weight: 500;
      }
      .avatar img {
        width: 100%;
        height: 100%;
        object-fit: cover;
      }
      .info {
        min-width: 0;
      }
      .name {
        font-weight: 500;
        font-size: 1.1em;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .drop {
        position: relative;
        display: flex;
        align-items: center;
        justify-content: center;
        gap: 10px;
        padding: 18px;
        margin: 12px 0;
        border: 2px dashed var(--dt-divider);
        border-radius: var(--dt-radius);
        color: var(--dt-secondary);
        cursor: pointer;
        text-align: center;
      }
      .drop.dragging,
      .drop:hover,
      .drop:focus-within {
        border-color: var(--dt-primary);
        color: var(--dt-primary);
      }
      .drop input {
        position: absolute;
        inset: 0;
        opacity: 0;
        width: 100%;
        height: 100%;
        cursor: pointer;
      }
      .full {
        width: 100%;
      }
      .message {
        padding: 8px 12px;
        border-left: 4px solid var(--dt-primary);
        background: var(--dt-card);
        border-radius: 4px;
      }
      .train {
        overflow: hidden;
      }
      .train img {
        width: 100%;
        aspect-ratio: 1;
        object-fit: cover;
        display: block;
      }
      .train-meta {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 4px;
        padding: 0 0 0 8px;
        min-width: 0;
      }
      .train-meta span {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      @media (max-width: 600px) {
        .people {
          grid-template-columns: 1fr;
        }
      }
    `,
  ];
}

define("dt-people", DtPeople);
