/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query SwitcherViewer {\n  viewer {\n    user {\n      id\n      email\n    }\n    currentOrganization {\n      id\n      name\n    }\n    organizations(first: 100) {\n      edges {\n        node {\n          id\n          name\n        }\n        membership {\n          role\n          status\n        }\n      }\n    }\n  }\n}\n\nmutation SwitcherSwitch($organizationId: ID!) {\n  switchOrganization(organizationId: $organizationId) {\n    organization {\n      id\n      name\n    }\n    membership {\n      role\n    }\n    accessToken {\n      token\n      expiresAt\n    }\n  }\n}\n\nsubscription SwitcherMemberships {\n  membershipChanged {\n    id\n  }\n}": typeof types.SwitcherViewerDocument,
    "\n  query ShellViewer {\n    viewer {\n      user {\n        id\n        email\n        displayName\n      }\n      currentOrganization {\n        id\n        name\n      }\n      currentMembership {\n        id\n        role\n        status\n        permissions\n      }\n      organizations(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n          }\n          membership {\n            id\n            role\n            status\n          }\n        }\n      }\n    }\n  }\n": typeof types.ShellViewerDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": typeof types.SignOutDocument,
    "\n  mutation SwitchOrganization($organizationId: ID!) {\n    switchOrganization(organizationId: $organizationId) {\n      organization {\n        id\n        name\n      }\n      membership {\n        id\n        role\n        status\n      }\n    }\n  }\n": typeof types.SwitchOrganizationDocument,
    "\n  mutation CreateOrganization($name: String!) {\n    createOrganization(input: { name: $name }) {\n      id\n      name\n    }\n  }\n": typeof types.CreateOrganizationDocument,
    "\n  query ConsoleAutomaticAccess($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n": typeof types.ConsoleAutomaticAccessDocument,
    "\n  mutation SetAutomaticUserAccess($organizationId: ID!, $input: AutomaticUserAccessInput!) {\n    setAutomaticUserAccess(organizationId: $organizationId, input: $input) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n": typeof types.SetAutomaticUserAccessDocument,
    "\n  query ConsoleDomains($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      requireSso\n      domains {\n        domain\n        verified\n        verifiedAt\n        txtRecordName\n        txtRecordValue\n        createdAt\n      }\n    }\n  }\n": typeof types.ConsoleDomainsDocument,
    "\n  mutation AddDomain($organizationId: ID!, $domain: String!) {\n    addDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n    }\n  }\n": typeof types.AddDomainDocument,
    "\n  mutation VerifyDomain($organizationId: ID!, $domain: String!) {\n    verifyDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n      verifiedAt\n    }\n  }\n": typeof types.VerifyDomainDocument,
    "\n  mutation RemoveDomain($organizationId: ID!, $domain: String!) {\n    removeDomain(organizationId: $organizationId, domain: $domain)\n  }\n": typeof types.RemoveDomainDocument,
    "\n  mutation SetRequireSso($organizationId: ID!, $required: Boolean!) {\n    setRequireSso(organizationId: $organizationId, required: $required) {\n      id\n      requireSso\n    }\n  }\n": typeof types.SetRequireSsoDocument,
    "\n  query ConsoleMembers($organizationId: ID!, $status: UserStatus, $after: String) {\n    organization(id: $organizationId) {\n      id\n      members(first: 100, status: $status, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            id\n            role\n            status\n            source\n            updatedAt\n            user {\n              id\n              email\n              displayName\n            }\n            teams {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleMembersDocument,
    "\n  subscription OrganizationMembershipChanged($organizationId: ID!, $after: ID) {\n    membershipChanged(organizationId: $organizationId, after: $after) {\n      id\n      type\n      userId\n      role\n      status\n      actor\n      occurredAt\n    }\n  }\n": typeof types.OrganizationMembershipChangedDocument,
    "\n  mutation InviteUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    inviteUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": typeof types.InviteUserDocument,
    "\n  mutation StageUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    stageUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": typeof types.StageUserDocument,
    "\n  mutation SetMembershipRole($organizationId: ID!, $userId: ID!, $role: OrganizationRole!) {\n    setMembershipRole(organizationId: $organizationId, userId: $userId, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": typeof types.SetMembershipRoleDocument,
    "\n  mutation SetMembershipStatus($organizationId: ID!, $userId: ID!, $status: UserStatus!) {\n    setMembershipStatus(organizationId: $organizationId, userId: $userId, status: $status) {\n      id\n      role\n      status\n    }\n  }\n": typeof types.SetMembershipStatusDocument,
    "\n  mutation RemoveMember($organizationId: ID!, $userId: ID!) {\n    removeMember(organizationId: $organizationId, userId: $userId)\n  }\n": typeof types.RemoveMemberDocument,
    "\n  mutation ResendInvitation($organizationId: ID!, $userId: ID!) {\n    resendInvitation(organizationId: $organizationId, userId: $userId) {\n      id\n      status\n    }\n  }\n": typeof types.ResendInvitationDocument,
    "\n  mutation RevokeInvitation($organizationId: ID!, $userId: ID!) {\n    revokeInvitation(organizationId: $organizationId, userId: $userId)\n  }\n": typeof types.RevokeInvitationDocument,
    "\n  query ConsoleScimTokens($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      scimTokens {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n": typeof types.ConsoleScimTokensDocument,
    "\n  mutation CreateScimToken($organizationId: ID!, $name: String!) {\n    createScimToken(organizationId: $organizationId, name: $name) {\n      token\n      scimToken {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n": typeof types.CreateScimTokenDocument,
    "\n  mutation RevokeScimToken($organizationId: ID!, $tokenId: ID!) {\n    revokeScimToken(organizationId: $organizationId, tokenId: $tokenId) {\n      id\n      revokedAt\n    }\n  }\n": typeof types.RevokeScimTokenDocument,
    "\n  query ConsoleSamlConnections($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      trustedSamlConnectionIds\n      samlConnections {\n        id\n        name\n        ownerOrganizationId\n        idpEntityId\n        ssoUrl\n        attributePrefix\n        defaultOrganizationId\n        allowIdpInitiated\n        acsUrl\n        spEntityId\n        loginUrl\n        createdAt\n        signingCertificates {\n          fingerprintSha256\n          subject\n          validTo\n        }\n      }\n    }\n  }\n": typeof types.ConsoleSamlConnectionsDocument,
    "\n  query SamlSignInFailures($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      samlConnections(owned: true) {\n        id\n        recentSignInFailures(first: 20) {\n          id\n          code\n          message\n          detail\n          email\n          occurredAt\n        }\n      }\n    }\n  }\n": typeof types.SamlSignInFailuresDocument,
    "\n  mutation CreateSamlConnection($organizationId: ID!, $metadataXml: String!, $settings: SamlConnectionSettingsInput) {\n    createSamlConnection(organizationId: $organizationId, metadataXml: $metadataXml, settings: $settings) {\n      id\n      name\n    }\n  }\n": typeof types.CreateSamlConnectionDocument,
    "\n  mutation TrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    trustSamlConnection(organizationId: $organizationId, connectionId: $connectionId) {\n      id\n    }\n  }\n": typeof types.TrustSamlConnectionDocument,
    "\n  mutation UntrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    untrustSamlConnection(organizationId: $organizationId, connectionId: $connectionId)\n  }\n": typeof types.UntrustSamlConnectionDocument,
    "\n  query ConsoleTeams($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      teams {\n        id\n        name\n        policies\n        externalId\n      }\n      members(first: 100) {\n        edges {\n          node {\n            id\n            user {\n              id\n              email\n            }\n            teams {\n              id\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleTeamsDocument,
    "\n  mutation CreateTeam($organizationId: ID!, $name: String!, $policies: [String!]!) {\n    createTeam(organizationId: $organizationId, input: { name: $name, policies: $policies }) {\n      id\n      name\n      policies\n    }\n  }\n": typeof types.CreateTeamDocument,
    "\n  mutation UpdateTeamPolicies($organizationId: ID!, $teamId: ID!, $policies: [String!]!) {\n    updateTeam(organizationId: $organizationId, teamId: $teamId, input: { policies: $policies }) {\n      id\n      policies\n    }\n  }\n": typeof types.UpdateTeamPoliciesDocument,
    "\n  mutation DeleteTeam($organizationId: ID!, $teamId: ID!) {\n    deleteTeam(organizationId: $organizationId, teamId: $teamId)\n  }\n": typeof types.DeleteTeamDocument,
    "\n  mutation AddTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    addTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n": typeof types.AddTeamMembersDocument,
    "\n  mutation RemoveTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    removeTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n": typeof types.RemoveTeamMembersDocument,
};
const documents: Documents = {
    "query SwitcherViewer {\n  viewer {\n    user {\n      id\n      email\n    }\n    currentOrganization {\n      id\n      name\n    }\n    organizations(first: 100) {\n      edges {\n        node {\n          id\n          name\n        }\n        membership {\n          role\n          status\n        }\n      }\n    }\n  }\n}\n\nmutation SwitcherSwitch($organizationId: ID!) {\n  switchOrganization(organizationId: $organizationId) {\n    organization {\n      id\n      name\n    }\n    membership {\n      role\n    }\n    accessToken {\n      token\n      expiresAt\n    }\n  }\n}\n\nsubscription SwitcherMemberships {\n  membershipChanged {\n    id\n  }\n}": types.SwitcherViewerDocument,
    "\n  query ShellViewer {\n    viewer {\n      user {\n        id\n        email\n        displayName\n      }\n      currentOrganization {\n        id\n        name\n      }\n      currentMembership {\n        id\n        role\n        status\n        permissions\n      }\n      organizations(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n          }\n          membership {\n            id\n            role\n            status\n          }\n        }\n      }\n    }\n  }\n": types.ShellViewerDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": types.SignOutDocument,
    "\n  mutation SwitchOrganization($organizationId: ID!) {\n    switchOrganization(organizationId: $organizationId) {\n      organization {\n        id\n        name\n      }\n      membership {\n        id\n        role\n        status\n      }\n    }\n  }\n": types.SwitchOrganizationDocument,
    "\n  mutation CreateOrganization($name: String!) {\n    createOrganization(input: { name: $name }) {\n      id\n      name\n    }\n  }\n": types.CreateOrganizationDocument,
    "\n  query ConsoleAutomaticAccess($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n": types.ConsoleAutomaticAccessDocument,
    "\n  mutation SetAutomaticUserAccess($organizationId: ID!, $input: AutomaticUserAccessInput!) {\n    setAutomaticUserAccess(organizationId: $organizationId, input: $input) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n": types.SetAutomaticUserAccessDocument,
    "\n  query ConsoleDomains($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      requireSso\n      domains {\n        domain\n        verified\n        verifiedAt\n        txtRecordName\n        txtRecordValue\n        createdAt\n      }\n    }\n  }\n": types.ConsoleDomainsDocument,
    "\n  mutation AddDomain($organizationId: ID!, $domain: String!) {\n    addDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n    }\n  }\n": types.AddDomainDocument,
    "\n  mutation VerifyDomain($organizationId: ID!, $domain: String!) {\n    verifyDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n      verifiedAt\n    }\n  }\n": types.VerifyDomainDocument,
    "\n  mutation RemoveDomain($organizationId: ID!, $domain: String!) {\n    removeDomain(organizationId: $organizationId, domain: $domain)\n  }\n": types.RemoveDomainDocument,
    "\n  mutation SetRequireSso($organizationId: ID!, $required: Boolean!) {\n    setRequireSso(organizationId: $organizationId, required: $required) {\n      id\n      requireSso\n    }\n  }\n": types.SetRequireSsoDocument,
    "\n  query ConsoleMembers($organizationId: ID!, $status: UserStatus, $after: String) {\n    organization(id: $organizationId) {\n      id\n      members(first: 100, status: $status, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            id\n            role\n            status\n            source\n            updatedAt\n            user {\n              id\n              email\n              displayName\n            }\n            teams {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleMembersDocument,
    "\n  subscription OrganizationMembershipChanged($organizationId: ID!, $after: ID) {\n    membershipChanged(organizationId: $organizationId, after: $after) {\n      id\n      type\n      userId\n      role\n      status\n      actor\n      occurredAt\n    }\n  }\n": types.OrganizationMembershipChangedDocument,
    "\n  mutation InviteUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    inviteUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": types.InviteUserDocument,
    "\n  mutation StageUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    stageUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": types.StageUserDocument,
    "\n  mutation SetMembershipRole($organizationId: ID!, $userId: ID!, $role: OrganizationRole!) {\n    setMembershipRole(organizationId: $organizationId, userId: $userId, role: $role) {\n      id\n      role\n      status\n    }\n  }\n": types.SetMembershipRoleDocument,
    "\n  mutation SetMembershipStatus($organizationId: ID!, $userId: ID!, $status: UserStatus!) {\n    setMembershipStatus(organizationId: $organizationId, userId: $userId, status: $status) {\n      id\n      role\n      status\n    }\n  }\n": types.SetMembershipStatusDocument,
    "\n  mutation RemoveMember($organizationId: ID!, $userId: ID!) {\n    removeMember(organizationId: $organizationId, userId: $userId)\n  }\n": types.RemoveMemberDocument,
    "\n  mutation ResendInvitation($organizationId: ID!, $userId: ID!) {\n    resendInvitation(organizationId: $organizationId, userId: $userId) {\n      id\n      status\n    }\n  }\n": types.ResendInvitationDocument,
    "\n  mutation RevokeInvitation($organizationId: ID!, $userId: ID!) {\n    revokeInvitation(organizationId: $organizationId, userId: $userId)\n  }\n": types.RevokeInvitationDocument,
    "\n  query ConsoleScimTokens($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      scimTokens {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n": types.ConsoleScimTokensDocument,
    "\n  mutation CreateScimToken($organizationId: ID!, $name: String!) {\n    createScimToken(organizationId: $organizationId, name: $name) {\n      token\n      scimToken {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n": types.CreateScimTokenDocument,
    "\n  mutation RevokeScimToken($organizationId: ID!, $tokenId: ID!) {\n    revokeScimToken(organizationId: $organizationId, tokenId: $tokenId) {\n      id\n      revokedAt\n    }\n  }\n": types.RevokeScimTokenDocument,
    "\n  query ConsoleSamlConnections($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      trustedSamlConnectionIds\n      samlConnections {\n        id\n        name\n        ownerOrganizationId\n        idpEntityId\n        ssoUrl\n        attributePrefix\n        defaultOrganizationId\n        allowIdpInitiated\n        acsUrl\n        spEntityId\n        loginUrl\n        createdAt\n        signingCertificates {\n          fingerprintSha256\n          subject\n          validTo\n        }\n      }\n    }\n  }\n": types.ConsoleSamlConnectionsDocument,
    "\n  query SamlSignInFailures($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      samlConnections(owned: true) {\n        id\n        recentSignInFailures(first: 20) {\n          id\n          code\n          message\n          detail\n          email\n          occurredAt\n        }\n      }\n    }\n  }\n": types.SamlSignInFailuresDocument,
    "\n  mutation CreateSamlConnection($organizationId: ID!, $metadataXml: String!, $settings: SamlConnectionSettingsInput) {\n    createSamlConnection(organizationId: $organizationId, metadataXml: $metadataXml, settings: $settings) {\n      id\n      name\n    }\n  }\n": types.CreateSamlConnectionDocument,
    "\n  mutation TrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    trustSamlConnection(organizationId: $organizationId, connectionId: $connectionId) {\n      id\n    }\n  }\n": types.TrustSamlConnectionDocument,
    "\n  mutation UntrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    untrustSamlConnection(organizationId: $organizationId, connectionId: $connectionId)\n  }\n": types.UntrustSamlConnectionDocument,
    "\n  query ConsoleTeams($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      teams {\n        id\n        name\n        policies\n        externalId\n      }\n      members(first: 100) {\n        edges {\n          node {\n            id\n            user {\n              id\n              email\n            }\n            teams {\n              id\n            }\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleTeamsDocument,
    "\n  mutation CreateTeam($organizationId: ID!, $name: String!, $policies: [String!]!) {\n    createTeam(organizationId: $organizationId, input: { name: $name, policies: $policies }) {\n      id\n      name\n      policies\n    }\n  }\n": types.CreateTeamDocument,
    "\n  mutation UpdateTeamPolicies($organizationId: ID!, $teamId: ID!, $policies: [String!]!) {\n    updateTeam(organizationId: $organizationId, teamId: $teamId, input: { policies: $policies }) {\n      id\n      policies\n    }\n  }\n": types.UpdateTeamPoliciesDocument,
    "\n  mutation DeleteTeam($organizationId: ID!, $teamId: ID!) {\n    deleteTeam(organizationId: $organizationId, teamId: $teamId)\n  }\n": types.DeleteTeamDocument,
    "\n  mutation AddTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    addTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n": types.AddTeamMembersDocument,
    "\n  mutation RemoveTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    removeTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n": types.RemoveTeamMembersDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SwitcherViewer {\n  viewer {\n    user {\n      id\n      email\n    }\n    currentOrganization {\n      id\n      name\n    }\n    organizations(first: 100) {\n      edges {\n        node {\n          id\n          name\n        }\n        membership {\n          role\n          status\n        }\n      }\n    }\n  }\n}\n\nmutation SwitcherSwitch($organizationId: ID!) {\n  switchOrganization(organizationId: $organizationId) {\n    organization {\n      id\n      name\n    }\n    membership {\n      role\n    }\n    accessToken {\n      token\n      expiresAt\n    }\n  }\n}\n\nsubscription SwitcherMemberships {\n  membershipChanged {\n    id\n  }\n}"): (typeof documents)["query SwitcherViewer {\n  viewer {\n    user {\n      id\n      email\n    }\n    currentOrganization {\n      id\n      name\n    }\n    organizations(first: 100) {\n      edges {\n        node {\n          id\n          name\n        }\n        membership {\n          role\n          status\n        }\n      }\n    }\n  }\n}\n\nmutation SwitcherSwitch($organizationId: ID!) {\n  switchOrganization(organizationId: $organizationId) {\n    organization {\n      id\n      name\n    }\n    membership {\n      role\n    }\n    accessToken {\n      token\n      expiresAt\n    }\n  }\n}\n\nsubscription SwitcherMemberships {\n  membershipChanged {\n    id\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ShellViewer {\n    viewer {\n      user {\n        id\n        email\n        displayName\n      }\n      currentOrganization {\n        id\n        name\n      }\n      currentMembership {\n        id\n        role\n        status\n        permissions\n      }\n      organizations(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n          }\n          membership {\n            id\n            role\n            status\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ShellViewer {\n    viewer {\n      user {\n        id\n        email\n        displayName\n      }\n      currentOrganization {\n        id\n        name\n      }\n      currentMembership {\n        id\n        role\n        status\n        permissions\n      }\n      organizations(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n          }\n          membership {\n            id\n            role\n            status\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignOut {\n    signOut\n  }\n"): (typeof documents)["\n  mutation SignOut {\n    signOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SwitchOrganization($organizationId: ID!) {\n    switchOrganization(organizationId: $organizationId) {\n      organization {\n        id\n        name\n      }\n      membership {\n        id\n        role\n        status\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SwitchOrganization($organizationId: ID!) {\n    switchOrganization(organizationId: $organizationId) {\n      organization {\n        id\n        name\n      }\n      membership {\n        id\n        role\n        status\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrganization($name: String!) {\n    createOrganization(input: { name: $name }) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrganization($name: String!) {\n    createOrganization(input: { name: $name }) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAutomaticAccess($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAutomaticAccess($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetAutomaticUserAccess($organizationId: ID!, $input: AutomaticUserAccessInput!) {\n    setAutomaticUserAccess(organizationId: $organizationId, input: $input) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SetAutomaticUserAccess($organizationId: ID!, $input: AutomaticUserAccessInput!) {\n    setAutomaticUserAccess(organizationId: $organizationId, input: $input) {\n      id\n      automaticUserAccess {\n        enabled\n        defaultRole\n        allowedDomains\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleDomains($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      requireSso\n      domains {\n        domain\n        verified\n        verifiedAt\n        txtRecordName\n        txtRecordValue\n        createdAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleDomains($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      requireSso\n      domains {\n        domain\n        verified\n        verifiedAt\n        txtRecordName\n        txtRecordValue\n        createdAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddDomain($organizationId: ID!, $domain: String!) {\n    addDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n    }\n  }\n"): (typeof documents)["\n  mutation AddDomain($organizationId: ID!, $domain: String!) {\n    addDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyDomain($organizationId: ID!, $domain: String!) {\n    verifyDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n      verifiedAt\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyDomain($organizationId: ID!, $domain: String!) {\n    verifyDomain(organizationId: $organizationId, domain: $domain) {\n      domain\n      verified\n      verifiedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveDomain($organizationId: ID!, $domain: String!) {\n    removeDomain(organizationId: $organizationId, domain: $domain)\n  }\n"): (typeof documents)["\n  mutation RemoveDomain($organizationId: ID!, $domain: String!) {\n    removeDomain(organizationId: $organizationId, domain: $domain)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetRequireSso($organizationId: ID!, $required: Boolean!) {\n    setRequireSso(organizationId: $organizationId, required: $required) {\n      id\n      requireSso\n    }\n  }\n"): (typeof documents)["\n  mutation SetRequireSso($organizationId: ID!, $required: Boolean!) {\n    setRequireSso(organizationId: $organizationId, required: $required) {\n      id\n      requireSso\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleMembers($organizationId: ID!, $status: UserStatus, $after: String) {\n    organization(id: $organizationId) {\n      id\n      members(first: 100, status: $status, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            id\n            role\n            status\n            source\n            updatedAt\n            user {\n              id\n              email\n              displayName\n            }\n            teams {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleMembers($organizationId: ID!, $status: UserStatus, $after: String) {\n    organization(id: $organizationId) {\n      id\n      members(first: 100, status: $status, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            id\n            role\n            status\n            source\n            updatedAt\n            user {\n              id\n              email\n              displayName\n            }\n            teams {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrganizationMembershipChanged($organizationId: ID!, $after: ID) {\n    membershipChanged(organizationId: $organizationId, after: $after) {\n      id\n      type\n      userId\n      role\n      status\n      actor\n      occurredAt\n    }\n  }\n"): (typeof documents)["\n  subscription OrganizationMembershipChanged($organizationId: ID!, $after: ID) {\n    membershipChanged(organizationId: $organizationId, after: $after) {\n      id\n      type\n      userId\n      role\n      status\n      actor\n      occurredAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    inviteUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation InviteUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    inviteUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StageUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    stageUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation StageUser($organizationId: ID!, $email: String!, $role: OrganizationRole!) {\n    stageUser(organizationId: $organizationId, email: $email, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetMembershipRole($organizationId: ID!, $userId: ID!, $role: OrganizationRole!) {\n    setMembershipRole(organizationId: $organizationId, userId: $userId, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation SetMembershipRole($organizationId: ID!, $userId: ID!, $role: OrganizationRole!) {\n    setMembershipRole(organizationId: $organizationId, userId: $userId, role: $role) {\n      id\n      role\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetMembershipStatus($organizationId: ID!, $userId: ID!, $status: UserStatus!) {\n    setMembershipStatus(organizationId: $organizationId, userId: $userId, status: $status) {\n      id\n      role\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation SetMembershipStatus($organizationId: ID!, $userId: ID!, $status: UserStatus!) {\n    setMembershipStatus(organizationId: $organizationId, userId: $userId, status: $status) {\n      id\n      role\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveMember($organizationId: ID!, $userId: ID!) {\n    removeMember(organizationId: $organizationId, userId: $userId)\n  }\n"): (typeof documents)["\n  mutation RemoveMember($organizationId: ID!, $userId: ID!) {\n    removeMember(organizationId: $organizationId, userId: $userId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResendInvitation($organizationId: ID!, $userId: ID!) {\n    resendInvitation(organizationId: $organizationId, userId: $userId) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation ResendInvitation($organizationId: ID!, $userId: ID!) {\n    resendInvitation(organizationId: $organizationId, userId: $userId) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeInvitation($organizationId: ID!, $userId: ID!) {\n    revokeInvitation(organizationId: $organizationId, userId: $userId)\n  }\n"): (typeof documents)["\n  mutation RevokeInvitation($organizationId: ID!, $userId: ID!) {\n    revokeInvitation(organizationId: $organizationId, userId: $userId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleScimTokens($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      scimTokens {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleScimTokens($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      scimTokens {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateScimToken($organizationId: ID!, $name: String!) {\n    createScimToken(organizationId: $organizationId, name: $name) {\n      token\n      scimToken {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateScimToken($organizationId: ID!, $name: String!) {\n    createScimToken(organizationId: $organizationId, name: $name) {\n      token\n      scimToken {\n        id\n        name\n        createdAt\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeScimToken($organizationId: ID!, $tokenId: ID!) {\n    revokeScimToken(organizationId: $organizationId, tokenId: $tokenId) {\n      id\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeScimToken($organizationId: ID!, $tokenId: ID!) {\n    revokeScimToken(organizationId: $organizationId, tokenId: $tokenId) {\n      id\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleSamlConnections($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      trustedSamlConnectionIds\n      samlConnections {\n        id\n        name\n        ownerOrganizationId\n        idpEntityId\n        ssoUrl\n        attributePrefix\n        defaultOrganizationId\n        allowIdpInitiated\n        acsUrl\n        spEntityId\n        loginUrl\n        createdAt\n        signingCertificates {\n          fingerprintSha256\n          subject\n          validTo\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleSamlConnections($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      trustedSamlConnectionIds\n      samlConnections {\n        id\n        name\n        ownerOrganizationId\n        idpEntityId\n        ssoUrl\n        attributePrefix\n        defaultOrganizationId\n        allowIdpInitiated\n        acsUrl\n        spEntityId\n        loginUrl\n        createdAt\n        signingCertificates {\n          fingerprintSha256\n          subject\n          validTo\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SamlSignInFailures($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      samlConnections(owned: true) {\n        id\n        recentSignInFailures(first: 20) {\n          id\n          code\n          message\n          detail\n          email\n          occurredAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SamlSignInFailures($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      samlConnections(owned: true) {\n        id\n        recentSignInFailures(first: 20) {\n          id\n          code\n          message\n          detail\n          email\n          occurredAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateSamlConnection($organizationId: ID!, $metadataXml: String!, $settings: SamlConnectionSettingsInput) {\n    createSamlConnection(organizationId: $organizationId, metadataXml: $metadataXml, settings: $settings) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateSamlConnection($organizationId: ID!, $metadataXml: String!, $settings: SamlConnectionSettingsInput) {\n    createSamlConnection(organizationId: $organizationId, metadataXml: $metadataXml, settings: $settings) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    trustSamlConnection(organizationId: $organizationId, connectionId: $connectionId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation TrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    trustSamlConnection(organizationId: $organizationId, connectionId: $connectionId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UntrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    untrustSamlConnection(organizationId: $organizationId, connectionId: $connectionId)\n  }\n"): (typeof documents)["\n  mutation UntrustSamlConnection($organizationId: ID!, $connectionId: ID!) {\n    untrustSamlConnection(organizationId: $organizationId, connectionId: $connectionId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleTeams($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      teams {\n        id\n        name\n        policies\n        externalId\n      }\n      members(first: 100) {\n        edges {\n          node {\n            id\n            user {\n              id\n              email\n            }\n            teams {\n              id\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleTeams($organizationId: ID!) {\n    organization(id: $organizationId) {\n      id\n      teams {\n        id\n        name\n        policies\n        externalId\n      }\n      members(first: 100) {\n        edges {\n          node {\n            id\n            user {\n              id\n              email\n            }\n            teams {\n              id\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTeam($organizationId: ID!, $name: String!, $policies: [String!]!) {\n    createTeam(organizationId: $organizationId, input: { name: $name, policies: $policies }) {\n      id\n      name\n      policies\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTeam($organizationId: ID!, $name: String!, $policies: [String!]!) {\n    createTeam(organizationId: $organizationId, input: { name: $name, policies: $policies }) {\n      id\n      name\n      policies\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateTeamPolicies($organizationId: ID!, $teamId: ID!, $policies: [String!]!) {\n    updateTeam(organizationId: $organizationId, teamId: $teamId, input: { policies: $policies }) {\n      id\n      policies\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateTeamPolicies($organizationId: ID!, $teamId: ID!, $policies: [String!]!) {\n    updateTeam(organizationId: $organizationId, teamId: $teamId, input: { policies: $policies }) {\n      id\n      policies\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteTeam($organizationId: ID!, $teamId: ID!) {\n    deleteTeam(organizationId: $organizationId, teamId: $teamId)\n  }\n"): (typeof documents)["\n  mutation DeleteTeam($organizationId: ID!, $teamId: ID!) {\n    deleteTeam(organizationId: $organizationId, teamId: $teamId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    addTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AddTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    addTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    removeTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveTeamMembers($organizationId: ID!, $teamId: ID!, $userIds: [ID!]!) {\n    removeTeamMembers(organizationId: $organizationId, teamId: $teamId, userIds: $userIds) {\n      id\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;