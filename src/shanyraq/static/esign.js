// Electronic signatures with a key kept by this browser (WebCrypto, ECDSA P-256, SHA-256).
//
// Enrolment (a form with data-esign-enrol): make a key pair whose private half cannot be
// exported, keep it in IndexedDB under the SHA-256 fingerprint of its public key (SPKI, hex),
// sign the page's one-time challenge with it, and send the public key (PEM) and that proof.
// Signing (a form with data-esign-content): sign the exact text the server gave (and each
// input's data-esign-item text, into that input) with the
// key whose fingerprint is data-esign-key, and send the signature (r || s, base64) with the
// certificate's serial. Every message shown comes from the page, translated by the server.
// A browser without WebCrypto, or without the key, sends nothing: the page says why. Without
// script the forms are sent as they are, unsigned, and the server says what it needs.

const DATABASE = "shanyraq-esign";
const STORE = "keys";
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING = { name: "ECDSA", hash: "SHA-256" };

function supported() {
  return Boolean(
    window.isSecureContext && window.crypto && window.crypto.subtle && window.indexedDB,
  );
}

// --- IndexedDB -------------------------------------------------------------------------

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase() {
  const opening = indexedDB.open(DATABASE, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return request(opening);
}

async function keyPair(fingerprint) {
  const db = await openDatabase();
  try {
    const found = await request(db.transaction(STORE).objectStore(STORE).get(fingerprint));
    return found && found.privateKey ? found : null;
  } finally {
    db.close();
  }
}

async function keep(fingerprint, pair) {
  const db = await openDatabase();
  try {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(
      { privateKey: pair.privateKey, publicKey: pair.publicKey, created: new Date() },
      fingerprint,
    );
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// --- encodings -------------------------------------------------------------------------

function base64(buffer) {
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function pem(spki) {
  const lines = base64(spki).match(/.{1,64}/g).join("\n");
  return `-----BEGIN PUBLIC KEY-----\n${lines}\n-----END PUBLIC KEY-----\n`;
}

async function sign(privateKey, text) {
  return base64(await crypto.subtle.sign(SIGNING, privateKey, new TextEncoder().encode(text)));
}

// --- what the person sees --------------------------------------------------------------

// The error next to the form's button, and an error summary at the top of the page.
function showProblem(form, message) {
  const slot = form.querySelector("[data-esign-error]");
  const button = form.querySelector("button[type=submit]");
  if (slot) {
    slot.querySelector("[data-esign-error-text]").textContent = message;
    slot.hidden = false;
    slot.closest(".govuk-form-group")?.classList.add("govuk-form-group--error");
    button?.setAttribute("aria-describedby", slot.id);
  }
  for (const old of document.querySelectorAll(".govuk-error-summary")) old.remove();
  const summary = document.createElement("div");
  summary.className = "govuk-error-summary";
  summary.tabIndex = -1;
  const alert = document.createElement("div");
  alert.setAttribute("role", "alert");
  const title = document.createElement("h2");
  title.className = "govuk-error-summary__title";
  title.textContent = form.dataset.esignErrorTitle || "";
  const body = document.createElement("div");
  body.className = "govuk-error-summary__body";
  const list = document.createElement("ul");
  list.className = "govuk-list govuk-error-summary__list";
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `#${button?.id || ""}`;
  link.textContent = message;
  item.append(link);
  list.append(item);
  body.append(list);
  alert.append(title, body);
  summary.append(alert);
  const column = form.closest(".govuk-grid-column-two-thirds") || document.querySelector("main");
  column.prepend(summary);
  const prefix = form.dataset.esignErrorPrefix;
  if (prefix && !document.title.startsWith(prefix)) document.title = `${prefix} ${document.title}`;
  summary.focus();
}

// --- enrolment ---------------------------------------------------------------------------

function enrolment(form) {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!supported()) {
      showProblem(form, form.dataset.esignCannotSign);
      return;
    }
    busy = true;
    try {
      const pair = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
      const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
      const fingerprint = hex(await crypto.subtle.digest("SHA-256", spki));
      const proof = await sign(pair.privateKey, form.dataset.esignChallenge);
      await keep(fingerprint, pair);
      form.elements.public_key_pem.value = pem(spki);
      form.elements.proof.value = proof;
    } catch {
      busy = false;
      showProblem(form, form.dataset.esignFailed);
      return;
    }
    form.submit();
  });
}

// Whether this browser holds the key of the person's current certificate.
async function presence(element) {
  if (!supported()) return;
  try {
    const pair = await keyPair(element.dataset.esignKey);
    element.textContent = pair ? element.dataset.esignPresent : element.dataset.esignAbsent;
    element.hidden = false;
  } catch {
    // Nothing to say when the browser's storage cannot be read.
  }
}

// --- signing -----------------------------------------------------------------------------

function signing(form) {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!supported()) {
      showProblem(form, form.dataset.esignCannotSign);
      return;
    }
    busy = true;
    let pair = null;
    try {
      pair = await keyPair(form.dataset.esignKey);
      if (pair) {
        if (form.elements.signature_value) {
          form.elements.signature_value.value = await sign(
            pair.privateKey,
            form.dataset.esignContent,
          );
        }
        // A form that applies for several services signs each one's own text.
        for (const input of form.querySelectorAll("input[data-esign-item]")) {
          input.value = await sign(pair.privateKey, input.dataset.esignItem);
        }
        form.elements.signature_certificate.value = form.dataset.esignCertificate;
      }
    } catch {
      busy = false;
      showProblem(form, form.dataset.esignFailed);
      return;
    }
    if (!pair) {
      busy = false;
      showProblem(form, form.dataset.esignNoKey);
      return;
    }
    form.submit();
  });
}

for (const form of document.querySelectorAll("form[data-esign-enrol]")) enrolment(form);
for (const form of document.querySelectorAll("form[data-esign-content]")) signing(form);
for (const element of document.querySelectorAll("[data-esign-presence]")) presence(element);
