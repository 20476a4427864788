"""The "Sentinel Hub credentials" dialog: an OAuth client id and secret for one deployment, stored as a QGIS
Authentication Manager configuration (method Basic: username = client id, password = client secret), with a link to
where the deployment issues OAuth clients and a "Test connection" button that requests a token in the background.

The secret goes only into the QGIS authentication database (encrypted with the master password); the dock keeps the
configuration id.
"""

from __future__ import annotations

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsTask
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.i18n import tr

#: Where each deployment issues OAuth clients (Dashboard › User settings › OAuth clients).
CLIENT_PAGES = {
    "sentinelhub": ("Sentinel Hub Dashboard", "https://apps.sentinel-hub.com/dashboard/#/account/settings"),
    "cdse": (
        "Copernicus Data Space Ecosystem Dashboard",
        "https://shapps.dataspace.copernicus.eu/dashboard/#/account/settings",
    ),
}
DEPLOYMENT_NAMES = {
    "sentinelhub": "Sentinel Hub",
    "cdse": "CDSE",
    "sample-sh": "Sample SH",
    "sample-cdse": "Sample CDSE",
    "custom": "Custom endpoint",
}


def store_credentials(name: str, client_id: str, secret: str) -> str:
    """Store a Basic auth config (username = client id, password = secret); return its id ('' on failure).
    QGIS asks for (or, the first time, to set) the master password here when it is not yet known."""
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig("Basic")
    config.setName(name)
    config.setConfig("username", client_id)
    config.setConfig("password", secret)
    if not manager.storeAuthenticationConfig(config):
        return ""
    return config.id()


def request_token(profile_id: str, client_id: str, secret: str, base_url: str = "", token_url: str = "") -> str:
    """Request an access token from the deployment's token service; returns a one-line success message, raises
    with the service's reason otherwise. Runs in a worker thread (no Qt widgets)."""
    from s2parity_plugin.core.service.endpoints import Credentials, resolve_endpoint, sh_config
    from s2parity_plugin.core.service.session import ParitySession

    endpoint = resolve_endpoint(
        profile_id, Credentials(client_id, secret), base_url=base_url or None, token_url=token_url or None
    )
    session = ParitySession(sh_config(endpoint, timeout_s=20.0, max_download_attempts=1), endpoint_id=profile_id)
    token = session.token
    if not token or not token.get("access_token"):
        raise RuntimeError(tr("The token service answered without an access token."))
    return tr("Connected: {0} issued a token for client id {1}.").format(endpoint.token_url, client_id)


class CredentialsDialog(QDialog):
    """Client id + secret for ``profile_id``; ``config_id`` holds the stored configuration after Save."""

    def __init__(self, profile_id: str, parent: QWidget | None = None, base_url: str = "", token_url: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("S2ParityCredentialsDialog")
        self.setWindowTitle(tr("Sentinel Hub credentials"))
        self.profile_id = profile_id
        self.base_url, self.token_url = base_url, token_url
        self.config_id = ""
        self._task: QgsTask | None = None
        layout = QVBoxLayout(self)

        intro = QLabel(self._intro_text())
        intro.setObjectName("credentials_intro")
        intro.setWordWrap(True)
        intro.setOpenExternalLinks(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(intro)

        form = QFormLayout()
        self.name = QLineEdit(tr("S2 Parity · {0}").format(DEPLOYMENT_NAMES.get(profile_id, profile_id)))
        self.name.setObjectName("credentials_name")
        self.client_id = QLineEdit()
        self.client_id.setObjectName("client_id")
        self.client_id.setPlaceholderText(tr("e.g. 1a2b3c4d-…"))
        self.secret = QLineEdit()
        self.secret.setObjectName("client_secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(tr("Name"), self.name)
        form.addRow(tr("Client id"), self.client_id)
        form.addRow(tr("Client secret"), self.secret)
        layout.addLayout(form)

        master = QLabel(
            tr(
                "QGIS keeps the secret encrypted in its authentication database; when saving, it asks for the "
                "master password that protects that database (the first time, you choose it)."
            )
        )
        master.setObjectName("master_password_note")
        master.setWordWrap(True)
        master.setStyleSheet("color: #555555;")
        layout.addWidget(master)

        self.test_button = QPushButton(tr("Test connection"))
        self.test_button.setObjectName("test_connection")
        self.test_button.setToolTip(tr("Request an access token with this client id and secret"))
        self.test_result = QLabel()
        self.test_result.setObjectName("test_result")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.test_button)
        layout.addWidget(self.test_result)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.test_connection)
        self.setMinimumWidth(460)

    def _intro_text(self) -> str:
        page = CLIENT_PAGES.get(self.profile_id)
        text = tr("Enter the OAuth client id and client secret of your account on this deployment.")
        if page is not None:
            title, url = page
            text += " " + tr(
                "Create an OAuth client in the <a href='{1}'>{0}</a> (User settings › OAuth clients)."
            ).format(title, url)
        else:
            links = ", ".join(f"<a href='{url}'>{title}</a>" for title, url in CLIENT_PAGES.values())
            text += " " + tr("OAuth clients are created in the deployment's dashboard ({0}).").format(links)
        text += " " + tr("Sentinel Hub and CDSE accounts are separate: each endpoint needs its own client.")
        return text

    def _fields(self) -> tuple[str, str] | None:
        client_id, secret = self.client_id.text().strip(), self.secret.text()
        if not client_id or not secret:
            self._show(tr("Enter both the client id and the client secret."), ok=False)
            return None
        return client_id, secret

    def _show(self, text: str, ok: bool) -> None:
        self.test_result.setText(text)
        self.test_result.setStyleSheet("color: #1e8449;" if ok else "color: #c0392b;")

    def test_connection(self) -> None:
        """Request a token in a background task; the result appears below the button."""
        fields = self._fields()
        if fields is None or self._task is not None:
            return
        client_id, secret = fields
        self.test_button.setEnabled(False)
        self._show(tr("Requesting a token…"), ok=True)
        profile, base, token = self.profile_id, self.base_url, self.token_url

        def work(_task):
            return request_token(profile, client_id, secret, base, token)

        self._task = QgsTask.fromFunction(tr("S2 Parity: test connection"), work, on_finished=self._tested)
        QgsApplication.taskManager().addTask(self._task)

    def _tested(self, exception, message=None) -> None:
        self._task = None
        if sip.isdeleted(self):
            return
        self.test_button.setEnabled(True)
        if exception is None:
            self._show(message, ok=True)
        else:
            self._show(tr("Connection failed: {0}").format(exception), ok=False)

    def save(self) -> None:
        fields = self._fields()
        if fields is None:
            return
        self.config_id = store_credentials(self.name.text().strip() or "S2 Parity", *fields)
        if not self.config_id:
            self._show(
                tr("QGIS could not store the configuration: enter the master password when QGIS asks."), ok=False
            )
            return
        self.accept()
