import os

os.environ["LANGSMITH_TRACING"] = "false"
os.environ["LANGSMITH_TEST_TRACKING"] = "false"
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")
