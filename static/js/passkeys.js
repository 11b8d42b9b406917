// Passkeys (WebAuthn) as a second factor: register one on the account page, answer with one at the
// second step of signing in. The server makes the options (py_webauthn's JSON, binary fields as
// base64url) and keeps the challenge; this script only calls navigator.credentials.create()/get(),
// puts the answer, as JSON with base64url fields, in the form's hidden `credential` field and submits
// it. No inline script: the strict CSP stays.
(function () {
  "use strict";

  // base64url (RFC 4648 §5, no padding) <-> ArrayBuffer.
  function fromBase64url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: fromBase64url(item.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function registrationJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === "function" ? response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  function authenticationJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  function say(form, text) {
    const status = form.querySelector("[data-passkey-status]");
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  }

  function fetchOptions(form) {
    const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || "The server did not answer. Try again.");
        return body;
      });
    });
  }

  function run(form, ceremony) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "This browser cannot use passkeys.");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say(form, "");
    fetchOptions(form)
      .then(ceremony)
      .then(function (answer) {
        form.querySelector("input[name=credential]").value = JSON.stringify(answer);
        form.submit();
      })
      .catch(function (error) {
        button.disabled = false;
        // NotAllowedError: the person cancelled or the prompt timed out.
        say(form, error && error.name === "NotAllowedError"
          ? "The passkey prompt was cancelled or timed out. Try again."
          : (error && error.message) || "The passkey did not work. Try again.");
      });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("data-passkey-register")) {
      event.preventDefault();
      const name = form.querySelector("input[name=name]");
      if (!name.value.trim()) {
        say(form, "Give the passkey a name, such as the device it lives on.");
        name.focus();
        return;
      }
      run(form, function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options) }).then(registrationJSON);
      });
    } else if (form.hasAttribute("data-passkey-sign-in")) {
      event.preventDefault();
      run(form, function (options) {
        return navigator.credentials.get({ publicKey: requestOptions(options) }).then(authenticationJSON);
      });
    }
  });
})();
