"""ovrun: declarative, cached OpenVINO optimization workflows."""
