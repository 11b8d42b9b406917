from tests.conftest import client_for

def test_smoke(acme_admin, acme_flow, people):
    r = acme_admin.get("/flows/")
    assert r.status_code == 200, r.content[:3000]
    r = acme_admin.get(f"/flows/{acme_flow.flow_id}/")
    assert r.status_code == 200, r.content[:3000]
    for t in acme_flow.nodes:
        r = acme_admin.get(acme_flow.config_url(t))
        assert r.status_code == 200, r.content.decode()[:5000]
        r = acme_admin.get(acme_flow.config_url(t) + "?view=json")
        assert r.status_code == 200
    r = acme_admin.get("/flows/node-types/")
    assert r.status_code == 200
    r = acme_admin.post("/flows/node-types/llm/validate/", {"temperature": "5", "_version": "0", "model": ""}, HTTP_HX_REQUEST="true")
    print(r.content.decode())
    r = acme_admin.post(acme_flow.config_url("llm"), {"temperature": "1.5", "_version": "0", "model": "gpt-4o", "provider": "openai", "max_tokens": "100"})
    print(r.status_code, r.get("Location"))
    r = acme_admin.get(acme_flow.config_url("llm"))
    open("/tmp/llm.html","w").write(r.content.decode())
    client_for(people["staff"]).get("/flows/").status_code == 200
