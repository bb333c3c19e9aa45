"""Siaga's analyzer: decides whether a message reports an emergency, and of which kind.

``model.EmergencyModel`` is the run-time entry point (numpy, onnxruntime and tokenizers only);
``training`` rebuilds the shipped artifacts from the disaster-tweets data.
"""
