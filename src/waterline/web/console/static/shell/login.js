// The login page: POST /api/auth/login sets the session cookie, then on to ?next= (or home).
import { api, client, t } from "../console.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  submit.disabled = true;
  try {
    await api("/api/auth/login", {
      method: "POST",
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    location.assign(client.next || "/");
  } catch (e) {
    error.textContent = e.status === 401 ? t("shell.login.bad_credentials") : e.message;
    error.hidden = false;
    form.password.select();
  } finally {
    submit.disabled = false;
  }
});
