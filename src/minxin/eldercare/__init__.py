"""Elderly care (plan P15–P20): elderly people, the home-call and emergency-rescue centre (呼叫救援中心)."""
