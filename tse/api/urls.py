"""The POS signing API (modelled on fiskaly SIGN DE v2), mounted under /api/v1/."""

urlpatterns = []
