# shellcheck shell=bash disable=SC2034
# Names and addresses of the network-namespace testbed (docs: DESIGN.md "Testbed").
# Sourced by scripts/testbed.sh, which builds it, and by tests/system/lib.sh, which uses it, so
# both read the same plan. Documentation ranges only: 198.51.100.0/24 and 2001:db8:100::/64 for
# the segment, 203.0.113.0/24 and 2001:db8:200::/64 for VIP pools, and the documentation MAC
# block 00:00:5e:00:53:xx (RFC 7042) for the interfaces the script names.
#
#   ${P}-client  ${P}-be1 ${P}-be2 ${P}-be3  ${P}-router     ${P}-portico
#      eth0        eth0    eth0    eth0        eth0             veth0 (no address; Portico's
#       |           |       |       |           |                 |    net_af_packet port)
#   ---client------be1-----be2-----be3--------router-----------portico---   br0 in ${P}-lan

# Namespaces whose host is a plain kernel stack on eth0.
TB_HOSTS=(router client be1 be2 be3)
# Every role; the namespace of a role is ${P}-${role}.
TB_ROLES=(lan "${TB_HOSTS[@]}" portico)

declare -gA TB_ADDR4=([router]=198.51.100.1 [client]=198.51.100.2
  [be1]=198.51.100.21 [be2]=198.51.100.22 [be3]=198.51.100.23)
declare -gA TB_ADDR6=([router]=2001:db8:100::1 [client]=2001:db8:100::2
  [be1]=2001:db8:100::21 [be2]=2001:db8:100::22 [be3]=2001:db8:100::23)
declare -gA TB_MAC=([router]=00:00:5e:00:53:01 [client]=00:00:5e:00:53:02
  [be1]=00:00:5e:00:53:21 [be2]=00:00:5e:00:53:22 [be3]=00:00:5e:00:53:23
  [portico]=00:00:5e:00:53:10)

TB_PREFIX_LEN4=24
TB_PREFIX_LEN6=64
TB_VIP_NET4=203.0.113.0/24
TB_VIP_NET6=2001:db8:200::/64

# Portico's side (config/examples/demo.yaml): it configures these itself on its tap portico0.
TB_PORTICO_IF=veth0
TB_NODE4=198.51.100.10
TB_NODE6=2001:db8:100::10
TB_SNAT4=198.51.100.11
TB_SNAT6=2001:db8:100::11

tb_default_prefix() { printf '%s' "${TB_PREFIX:-pt}"; }

tb_valid_prefix() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$ ]]; }
