from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "个人信息保险库"
