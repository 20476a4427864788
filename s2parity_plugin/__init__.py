"""S2 Parity QGIS plugin: compare Sentinel Hub and CDSE Process API results."""


def classFactory(iface):
    """QGIS entry point: import the plugin lazily so a broken import never blocks QGIS start-up; the packages the
    plugin installed itself (its Install button) are put on ``sys.path`` first."""
    from s2parity_plugin.adapters.packages import activate

    activate()
    from s2parity_plugin.plugin import S2ParityPlugin

    return S2ParityPlugin(iface)
